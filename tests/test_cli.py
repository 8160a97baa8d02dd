"""The command line, run as a user runs it: a real subprocess on a generated library."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from comicmaintainer import example_library
from comicmaintainer.archive.reader import read_archive
from tests.archive_factory import page_hashes


def run_cli(
    *args: str, watched: Path, config: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WATCHED_DIR": str(watched), "CONFIG_DIR": str(config), **(extra_env or {})}
    return subprocess.run(
        [sys.executable, "-m", "comicmaintainer.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file()
    }


def all_pages(root: Path) -> list[tuple[str, ...]]:
    """Every archive's page hashes, as a sorted multiset: nothing lost, nothing altered."""
    found = []
    for p in root.rglob("*"):
        if p.is_file() and zipfile.is_zipfile(p):
            found.append(tuple(page_hashes(p)))
    return sorted(found)


@pytest.fixture
def library_200(tmp_path: Path) -> example_library.ExampleLibrary:
    return example_library.build(tmp_path / "library", series=10, per_series=20, pages=2)


def test_dry_run_then_run_then_nothing(library_200: example_library.ExampleLibrary, tmp_path: Path) -> None:
    watched, config, dups = library_200.root, tmp_path / "config", tmp_path / "dups"
    env = {"DUPLICATE_DIR": str(dups)}
    pages_before = all_pages(watched)
    files_before = snapshot(watched)

    dry = run_cli("process", "--dry-run", "--json", watched=watched, config=config, extra_env=env)
    assert snapshot(watched) == files_before, "a dry run changed files"
    plans = [json.loads(line) for line in dry.stdout.splitlines()]
    assert len(plans) == len(library_200.files)
    assert all(p["dry_run"] for p in plans)
    assert sum(p["outcome"] == "duplicate" for p in plans) == library_200.expected_duplicates

    real = run_cli("process", "--json", watched=watched, config=config, extra_env=env)
    results = [json.loads(line) for line in real.stdout.splitlines()]
    assert real.returncode == 1, "the broken archive must make the run fail"
    failed = [r for r in results if r["outcome"] == "failed"]
    assert [Path(r["path"]).name for r in failed] == [p.name for p in library_200.broken]
    assert all(r["message"] and "\n" not in r["message"] for r in failed)

    # Nothing lost: every page set that existed before exists after, in the library or set aside.
    assert sorted(all_pages(watched) + all_pages(dups)) == pages_before
    for archive in watched.rglob("*.cb?"):
        if archive in library_200.broken:
            continue
        md = read_archive(archive).metadata
        pattern = rf"{re.escape(archive.parent.name)} - Chapter \d{{4}}(\.\d+)?\.cb[zr]"
        assert re.fullmatch(pattern, archive.name), archive.name
        assert md.series == archive.parent.name.replace("_", ":")
        assert md.title == f"Chapter {md.issue}"
    assert len([p for p in dups.rglob("*") if p.is_file()]) == library_200.expected_duplicates

    after_first = snapshot(watched)
    second = run_cli("process", "--json", watched=watched, config=config, extra_env=env)
    outcomes = {json.loads(line)["outcome"] for line in second.stdout.splitlines()}
    assert outcomes <= {"unchanged", "failed", "needs_attention"}
    assert snapshot(watched) == after_first, "a second run changed files"


def test_missing_watched_dir_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run_cli("scan", watched=tmp_path / "nope", config=tmp_path / "config")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "WATCHED_DIR" in result.stderr


def test_scan_history_and_undo(tmp_path: Path) -> None:
    watched, config = tmp_path / "library", tmp_path / "config"
    example_library.write_cbz(watched / "Berserk" / "Berserk ch 3.cbz", seed=1)
    scan = run_cli("scan", watched=watched, config=config)
    assert "unprocessed 1" in scan.stdout
    assert run_cli("process", watched=watched, config=config).returncode == 0
    history = run_cli("history", "--limit", "5", watched=watched, config=config)
    action_id = history.stdout.split()[0]
    assert "Berserk - Chapter 0003.cbz" in history.stdout
    undone = run_cli("undo", action_id, watched=watched, config=config)
    assert undone.returncode == 0, undone.stderr
    assert (watched / "Berserk" / "Berserk ch 3.cbz").exists()


def test_parse_name_json() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "comicmaintainer.cli",
            "parse-name",
            "Re Zero Ch.71.40 (2021).cbz",
            "--folder",
            "Re_Zero",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    fields = json.loads(out.stdout)
    assert fields["series"] == "Re:Zero"
    assert fields["issue"] == "71.4"
    assert fields["issue_padded"] == "0071.4"
    assert fields["title"] == "Chapter 71.4"
    assert fields["year"] == "2021"


def test_parse_name_shows_the_kind_of_book_and_its_numbers() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "comicmaintainer.cli",
            "parse-name",
            "Solo Leveling Vol.1 c001-010.cbz",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    fields = json.loads(out.stdout)
    assert (fields["kind"], fields["issue"], fields["issue_end"], fields["volume"]) == (
        "range",
        "1",
        "10",
        "1",
    )
    assert fields["title"] == "Chapters 1-10"
