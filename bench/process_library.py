"""Files per second for `comicmaintainer process` on a generated library, first and second run.

    python bench/process_library.py                 # 1,000 archives of 20 MB, 3 runs
    python bench/process_library.py --files 200 --mb 2 --runs 5

Each run copies a pristine library with `cp -r` (timed: the I/O floor, the peer in the ratio),
processes it (first run: every archive opened, tagged and renamed) and processes it again (second run:
already normalized; no archive may be opened, which the pipeline reports per file).
Prints a Markdown table of medians for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from comicmaintainer import example_library


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    return time.perf_counter() - start, done.stdout


def one_run(pristine: Path, work: Path, n_files: int) -> dict[str, float]:
    lib, config = work / "library", work / "config"
    cp_s, _ = timed(["cp", "-r", str(pristine), str(lib)])
    subprocess.run(["sync"], check=True)
    env = {**os.environ, "WATCHED_DIR": str(lib), "CONFIG_DIR": str(config)}
    cmd = [sys.executable, "-m", "comicmaintainer.cli", "process", "--json"]
    first_s, first_out = timed(cmd, env)
    second_s, second_out = timed(cmd, env)
    not_opened = sum('"already processed; file unchanged"' in line for line in second_out.splitlines())
    processed = sum(json.loads(line)["outcome"] != "failed" for line in first_out.splitlines())
    shutil.rmtree(work)
    work.mkdir()
    return {
        "cp": cp_s,
        "first": first_s,
        "second": second_s,
        "processed": processed,
        "not_opened": not_opened,
        "files": n_files,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--mb", type=float, default=20.0, help="size of each archive")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="where to build (default: a temp dir)")
    args = parser.parse_args()
    pages = 10
    page_bytes = int(args.mb * 1024 * 1024 / pages)
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="cm-bench-") as tmp:
        base = Path(tmp)
        pristine = base / "pristine"
        per_series = max(1, args.files // 10)
        made = example_library.build(
            pristine, series=10, per_series=per_series, pages=pages, page_bytes=page_bytes
        )
        work = base / "work"
        work.mkdir()
        runs = [one_run(pristine, work, len(made.files)) for _ in range(args.runs)]
    report(runs, args)


def report(runs: list[dict[str, float]], args: argparse.Namespace) -> None:
    med = {k: statistics.median(r[k] for r in runs) for k in ("cp", "first", "second")}
    n = runs[0]["files"]
    print(f"{n} archives of {args.mb:g} MB, {args.runs} runs, medians; {os.cpu_count()} cores\n")
    print("| run | seconds | files/s | × cp -r of the library |")
    print("| --- | ---: | ---: | ---: |")
    rows = [
        ("`cp -r` (I/O floor)", "cp"),
        ("first run (tag + rename)", "first"),
        ("second run (already normalized)", "second"),
    ]
    for label, key in rows:
        print(f"| {label} | {med[key]:.2f} | {n / med[key]:.0f} | {med[key] / med['cp']:.2f} |")
    not_opened = min(r["not_opened"] for r in runs)
    print(f"\nsecond run: {not_opened} of {n} archives skipped by fingerprint without being opened")


if __name__ == "__main__":
    main()
