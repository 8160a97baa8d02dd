"""Start-up recovery settles history actions a killed process left pending."""

from __future__ import annotations

import shutil
from pathlib import Path

from comicmaintainer.library.process import Context
from comicmaintainer.library.recovery import recover
from comicmaintainer.library.store import Status
from tests.archive_factory import make_cbz
from tests.fixture_files import rar_path


def test_rename_that_happened_is_done(ctx: Context, watched: Path) -> None:
    make_cbz(watched / "B" / "B - Chapter 0001.cbz")
    action = ctx.store.record_action(
        "process", "B/b ch1.cbz", "B/B - Chapter 0001.cbz", None, b"<x/>", state="pending"
    )

    report = recover(watched, ctx.store, ctx.settings.journal_dir)

    assert report.finished == ["B/B - Chapter 0001.cbz"]
    assert ctx.store.get_action(action).state == "done"


def test_rename_that_never_happened_is_rolled_back_and_redone_later(ctx: Context, watched: Path) -> None:
    make_cbz(watched / "B" / "b ch1.cbz")
    action = ctx.store.record_action(
        "process", "B/b ch1.cbz", "B/B - Chapter 0001.cbz", None, b"<x/>", state="pending"
    )

    report = recover(watched, ctx.store, ctx.settings.journal_dir)

    assert report.rolled_back == ["B/B - Chapter 0001.cbz"]
    assert ctx.store.get_action(action).state == "rolled_back"
    row = ctx.store.get_file("B/b ch1.cbz")
    assert row is not None and row.status == Status.UNPROCESSED


def test_interrupted_conversion_keeps_the_complete_cbz_and_drops_the_rar(ctx: Context, watched: Path) -> None:
    fixture = rar_path("pages-rar5.cbr")
    from comicmaintainer.archive.cbr import convert_rar_to_cbz

    rar = watched / "D" / "d ch 7.cbr"
    rar.parent.mkdir()
    shutil.copyfile(fixture, rar)
    cbz = watched / "D" / "D - Chapter 0007.cbz"
    convert_rar_to_cbz(rar, cbz, None)  # killed right after this, before the RAR was removed
    action = ctx.store.record_action(
        "process", "D/d ch 7.cbr", "D/D - Chapter 0007.cbz", None, None, state="pending"
    )

    recover(watched, ctx.store, ctx.settings.journal_dir)

    assert not rar.exists() and cbz.exists()
    assert ctx.store.get_action(action).state == "done"


def test_scan_sweeps_stale_temp_files_of_killed_writes(ctx: Context, watched: Path) -> None:
    import os
    import time

    from comicmaintainer.archive.atomic import temp_path_beside
    from comicmaintainer.library.scanner import STALE_TEMP_SECONDS, scan

    kept = make_cbz(watched / "B" / "b ch1.cbz")
    stale, fresh = temp_path_beside(kept), temp_path_beside(kept)
    stale.write_bytes(b"half a copy")
    fresh.write_bytes(b"a copy in progress")
    old = time.time() - STALE_TEMP_SECONDS - 60
    os.utime(stale, (old, old))

    scan(watched, ctx.store)

    assert not stale.exists() and fresh.exists() and kept.exists()
