# ruff: noqa: E501  (the library reads best one book a line)
"""A library of every kind of book, through the real pipeline: distinct names, reader tags, stable."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from comicmaintainer.archive.reader import read_archive
from comicmaintainer.library.process import Context, process
from comicmaintainer.library.store import Store
from tests.archive_factory import make_cbz
from tests.conftest import make_settings

# original path -> (new path, Number, Title, Volume, Format); processed in this order.
LIBRARY: dict[str, tuple[str, str | None, str, int | None, str | None]] = {
    "Berserk/Berserk v01.cbz": ("Berserk/Berserk - Volume 01.cbz", None, "Volume 1", 1, None),
    "Berserk/Berserk v02.cbz": ("Berserk/Berserk - Volume 02.cbz", None, "Volume 2", 2, None),
    "Berserk/Berserk Extra 1.cbz": ("Berserk/Berserk - Extra 1.cbz", None, "Extra 1", None, "Special"),
    "Berserk/Berserk c045 - The Black Swordsman.cbz": (
        "Berserk/Berserk - Chapter 0045.cbz", "45", "Chapter 45 - The Black Swordsman", None, None,
    ),
    "Berserk/Berserk Ch.10 Omake.cbz": (
        "Berserk/Berserk - Chapter 0010 Omake.cbz", "10.5", "Chapter 10 Omake", None, "Special",
    ),
    "Solo Leveling/Solo Leveling c001-010.cbz": (
        "Solo Leveling/Solo Leveling - Chapter 0001-0010.cbz", "1", "Chapters 1-10", None, None,
    ),
    "Solo Leveling/Solo Leveling c001-005.cbz": (
        "Solo Leveling/Solo Leveling - Chapter 0001-0005.cbz", "1", "Chapters 1-5", None, None,
    ),
    "Solo Leveling/Solo Leveling c011.cbz": (
        "Solo Leveling/Solo Leveling - Chapter 0011.cbz", "11", "Chapter 11", None, None,
    ),
    "Spy x Family/Spy x Family Ch.050 Part 1.cbz": (
        "Spy x Family/Spy x Family - Chapter 0050 Part 1.cbz", "50", "Chapter 50 Part 1", None, None,
    ),
    "Spy x Family/Spy x Family Ch.050 Part 2.cbz": (
        "Spy x Family/Spy x Family - Chapter 0050 Part 2.cbz", "50", "Chapter 50 Part 2", None, None,
    ),
    "Spy x Family/Spy x Family Ch.050.cbz": (
        "Spy x Family/Spy x Family - Chapter 0050.cbz", "50", "Chapter 50", None, None,
    ),
    "Spy x Family/Official_Mission 92.cbz": (
        "Spy x Family/Spy x Family - Chapter 0092.cbz", "92", "Chapter 92 - Mission 92", None, None,
    ),
    "Hellsing/Hellsing Vol.10 Extra.cbz": (
        "Hellsing/Hellsing - Volume 10 Extra.cbz", None, "Volume 10 Extra", 10, "Special",
    ),
    "Hellsing/Hellsing Vol.9 Extra.cbz": (
        "Hellsing/Hellsing - Volume 09 Extra.cbz", None, "Volume 9 Extra", 9, "Special",
    ),
    "Hellsing/Hellsing v10.cbz": ("Hellsing/Hellsing - Volume 10.cbz", None, "Volume 10", 10, None),
    "Chainsaw Man/Chainsaw Man Vol.1 Ch.1-8.cbz": (
        "Chainsaw Man/Chainsaw Man - Chapter 0001-0008.cbz", "1", "Chapters 1-8", 1, None,
    ),
    "Chainsaw Man/[0009]_Chapter_9.cbz": ("Chainsaw Man/Chainsaw Man - Chapter 0009.cbz", "9", "Chapter 9", None, None),
    "Chainsaw Man/Chainsaw Man - Side Story 2.cbz": (
        "Chainsaw Man/Chainsaw Man - Side Story 2.cbz", None, "Side Story 2", None, "Special",
    ),
    "Yotsuba&!/Doki Fansubs_Vol.9 Ch.97 - Coffee Break.cbz": (
        "Yotsuba&!/Yotsuba&! - Chapter 0097.cbz", "97", "Chapter 97 - Coffee Break", 9, None,
    ),
    "Yotsuba&!/Doki Fansubs_Vol.9 Ch.98 - Rain.cbz": (
        "Yotsuba&!/Yotsuba&! - Chapter 0098.cbz", "98", "Chapter 98 - Rain", 9, None,
    ),
    "Dandadan/Dandadan -.- 120.cbz": ("Dandadan/Dandadan - Chapter 0120.cbz", "120", "Chapter 120", None, None),
    "Dandadan/[0001]_Chapter_1.cbz": ("Dandadan/Dandadan - Chapter 0001.cbz", "1", "Chapter 1", None, None),
    "Dandadan/Dandadan - Prologue.cbz": ("Dandadan/Dandadan - Prologue.cbz", None, "Prologue", None, "Special"),
    "Batman/Batman (2016) Volume 03 Issue 001.cbz": ("Batman/Batman - Chapter 0001.cbz", "1", "Chapter 1", 3, None),
    "Batman/Batman (2016) Volume 03 Issue 002.cbz": ("Batman/Batman - Chapter 0002.cbz", "2", "Chapter 2", 3, None),
    # Kingdom's chapters start again at 1 in volume 2: the second keeps its volume in the name.
    "Kingdom/Kingdom Vol.1 Ch.1.cbz": ("Kingdom/Kingdom - Chapter 0001.cbz", "1", "Chapter 1", 1, None),
    "Kingdom/Kingdom Vol.2 Ch.1.cbz": ("Kingdom/Kingdom - Chapter 0001 (Volume 02).cbz", "1", "Chapter 1", 2, None),
    "Kingdom/Kingdom Vol.3.cbz": ("Kingdom/Kingdom - Volume 03.cbz", None, "Volume 3", 3, None),
    # tagged before with Number = volume: the Number goes, the name already is right
    "One Piece/One Piece - Volume 105.cbz": ("One Piece/One Piece - Volume 105.cbz", None, "Volume 105", 105, None),
    "One Piece/One Piece ch 1100.cbz": ("One Piece/One Piece - Chapter 1100.cbz", "1100", "Chapter 1100", None, None),
}  # fmt: skip
TAGGED_BEFORE = {
    "One Piece/One Piece - Volume 105.cbz": (
        b"<?xml version='1.0' encoding='utf-8'?>\n<ComicInfo><Series>One Piece</Series>"
        b"<Number>105</Number><Volume>105</Volume></ComicInfo>"
    )
}
# The one real duplicate: the same chapter from another group, with the same pages.
DUPLICATE = "One Piece/One Piece ch 1100 [other group].cbz"


@pytest.fixture
def kinds_ctx(watched: Path, tmp_path: Path) -> Iterator[Context]:
    settings = make_settings(watched, tmp_path, DUPLICATE_DIR=str(tmp_path / "duplicates"))
    settings = dataclasses.replace(settings, title_format="Chapter {issue} - {chapter_title}")
    store = Store(settings.db_path)
    try:
        yield Context(settings=settings, store=store)
    finally:
        store.close()


def _build(watched: Path) -> None:
    for seed, rel in enumerate(LIBRARY):
        make_cbz(watched / rel, pages=2, seed=seed, comicinfo=TAGGED_BEFORE.get(rel))
    same_pages_as = list(LIBRARY).index("One Piece/One Piece ch 1100.cbz")
    make_cbz(watched / DUPLICATE, pages=2, seed=same_pages_as)


def _reader_tags(path: Path) -> tuple[str | None, str | None, int | None, str | None]:
    md = read_archive(path).metadata
    return md.issue or None, md.title, md.volume, md.format or None


def test_every_kind_gets_a_distinct_name_and_reader_tags_and_a_second_run_changes_nothing(
    kinds_ctx: Context, watched: Path, tmp_path: Path
) -> None:
    _build(watched)
    assert len({p.parent.name for p in watched.rglob("*.cbz")}) == 10

    results = {rel: process(watched / rel, kinds_ctx) for rel in [*LIBRARY, DUPLICATE]}

    for rel, (new, number, title, volume, fmt) in LIBRARY.items():
        result = results[rel]
        assert result.outcome in ("processed", "unchanged"), (rel, result.message)
        assert (result.new_path or rel) == new, rel
        assert _reader_tags(watched / new) == (number, title, volume, fmt), rel
    duplicate = results[DUPLICATE]
    assert duplicate.outcome == "duplicate" and duplicate.identical is True
    assert duplicate.duplicate_of == "One Piece/One Piece - Chapter 1100.cbz"
    on_disk = sorted(str(p.relative_to(watched)) for p in watched.rglob("*.cbz"))
    assert on_disk == sorted(new for new, *_ in LIBRARY.values())
    assert [p.name for p in (tmp_path / "duplicates").rglob("*.cbz")] == [Path(DUPLICATE).name]

    stats = {rel: (watched / rel).stat().st_mtime_ns for rel in on_disk}
    for forced in (False, True):
        again = [process(watched / rel, kinds_ctx, force=forced) for rel in on_disk]
        assert [(r.outcome, r.new_path) for r in again] == [("unchanged", None)] * len(on_disk)
    assert {rel: (watched / rel).stat().st_mtime_ns for rel in on_disk} == stats


def test_the_same_library_through_the_cli_with_parallel_workers(watched: Path, tmp_path: Path) -> None:
    """Two different books racing for one name (Kingdom's two chapter 1) are both kept, apart."""
    _build(watched)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.json").write_text('{"title_format": "Chapter {issue} - {chapter_title}"}')
    env = {
        **os.environ,
        "WATCHED_DIR": str(watched),
        "CONFIG_DIR": str(tmp_path / "config"),
        "DUPLICATE_DIR": str(tmp_path / "duplicates"),
        "MAX_WORKERS": "4",
    }
    command = [sys.executable, "-m", "comicmaintainer.cli", "process", str(watched), "--json"]

    first = [
        json.loads(line)
        for line in subprocess.run(command, env=env, capture_output=True, text=True).stdout.splitlines()
    ]

    outcomes = {r["path"]: r["outcome"] for r in first}
    assert [p for p, outcome in outcomes.items() if outcome == "duplicate"] in (
        [DUPLICATE],
        ["One Piece/One Piece ch 1100.cbz"],  # whichever of the two copies came second
    )
    on_disk = sorted(str(p.relative_to(watched)) for p in watched.rglob("*.cbz"))
    racing = {"Kingdom/Kingdom - Chapter 0001.cbz", "Kingdom/Kingdom - Chapter 0001 (Volume 02).cbz"}
    # whichever chapter 1 lost the race keeps its own volume in its name
    kept_apart = (
        {"Kingdom/Kingdom - Chapter 0001.cbz", f"Kingdom/Kingdom - Chapter 0001 (Volume 0{v}).cbz"}
        for v in (1, 2)
    )
    either = {*racing, "Kingdom/Kingdom - Chapter 0001 (Volume 01).cbz"}
    assert set(on_disk) - either == {new for new, *_ in LIBRARY.values()} - racing
    assert set(on_disk) & either in list(kept_apart)
    assert len(on_disk) == len(LIBRARY)
    for new, number, title, volume, fmt in LIBRARY.values():
        if new not in racing:
            assert _reader_tags(watched / new) == (number, title, volume, fmt), new
    volumes = {
        _reader_tags(watched / rel)[2] for rel in on_disk if rel.startswith("Kingdom/Kingdom - Chapter 0001")
    }
    assert volumes == {1, 2}
    second = [
        json.loads(line)
        for line in subprocess.run(command, env=env, capture_output=True, text=True).stdout.splitlines()
    ]
    assert {r["outcome"] for r in second} == {"unchanged"} and len(second) == len(on_disk)
