"""``comicmaintainer match`` as a user runs it: a real subprocess, the fakes as the sources."""

from __future__ import annotations

import json
from pathlib import Path

from comicmaintainer.config import PUBLISHED_PER_MINUTE
from tests.archive_factory import make_cbz
from tests.metadata.fakes import Fake
from tests.test_cli import run_cli


def configure(config: Path, fakes: dict[str, Fake]) -> None:
    values: dict[str, object] = {}
    for name, fake in fakes.items():
        values.update({f"{name}_url": fake.url, f"{name}_per_minute": PUBLISHED_PER_MINUTE[name]})
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.json").write_text(json.dumps(values), encoding="utf-8")


def test_match_dry_run_then_for_real_then_a_pin(tmp_path: Path, fakes: dict[str, Fake]) -> None:
    watched, config = tmp_path / "library", tmp_path / "config"
    for n in (1, 2):
        make_cbz(watched / "Monster" / f"Monster - Chapter {n:04d}.cbz", seed=n)
        make_cbz(watched / "Berserk" / f"Berserk - Chapter {n:04d}.cbz", seed=n)
    configure(config, fakes)

    preview = run_cli("match", "Berserk", "--dry-run", "--json", watched=watched, config=config)
    assert preview.returncode == 0, preview.stderr
    report = json.loads(preview.stdout)
    assert report["match"]["status"] == "matched" and report["match"]["source"] == "anilist"
    assert [c["tags_after"]["Writer"] for c in report["chapters"]] == ["Kentaro Miura"] * 2

    ambiguous = run_cli("match", str(watched / "Monster"), watched=watched, config=config)
    assert ambiguous.returncode == 1 and "needs a match" in ambiguous.stdout

    pinned = run_cli(
        "match", "Monster", "--id", "https://anilist.co/manga/3", "--json", watched=watched, config=config
    )
    assert pinned.returncode == 0, pinned.stderr
    report = json.loads(pinned.stdout)
    assert report["match"]["status"] == "pinned"
    assert {c["outcome"] for c in report["chapters"]} == {"processed"}

    searched = len(fakes["anilist"].requests)
    again = run_cli("match", "Monster", watched=watched, config=config)
    assert again.returncode == 0 and "unchanged" in again.stdout
    assert len(fakes["anilist"].requests) == searched  # the pin is kept: nothing asked


def test_match_refuses_a_folder_outside_the_library(tmp_path: Path, fakes: dict[str, Fake]) -> None:
    watched, config = tmp_path / "library", tmp_path / "config"
    watched.mkdir()
    configure(config, fakes)
    result = run_cli("match", str(tmp_path), watched=watched, config=config)
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {tmp_path} is not a series folder inside the library {watched}"
