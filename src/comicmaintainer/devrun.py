"""`make run`: start the service on ./library (or $WATCHED_DIR) with its state in ./config.

When ./library does not exist yet it is filled with a small generated example library, so a newcomer
sees the service at work within a minute.
"""

from __future__ import annotations

import os
from pathlib import Path

from comicmaintainer import example_library
from comicmaintainer.cli import main as cli_main


def run() -> None:
    watched = Path(os.environ.get("WATCHED_DIR", "library")).resolve()
    if "WATCHED_DIR" not in os.environ and not watched.exists():
        made = example_library.build(watched)
        print(f"made an example library of {len(made.files)} archives in {watched}")
    os.environ["WATCHED_DIR"] = str(watched)
    os.environ.setdefault("CONFIG_DIR", str(Path("config").resolve()))
    # A first look on one's own machine: reachable from this machine only, unless HOST says otherwise.
    os.environ.setdefault("HOST", "127.0.0.1")
    cli_main(["serve"])


if __name__ == "__main__":
    run()
