"""Start-up recovery settles history actions a killed process left pending."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from comicmaintainer.library.locks import LibraryPresence
from comicmaintainer.library.process import Context
from comicmaintainer.library.recovery import recover
from comicmaintainer.library.store import Status
from tests.archive_factory import make_cbz
from tests.fixture_files import rar_path

OLD_XML = b'<?xml version="1.0"?>\n<ComicInfo><Series>b</Series></ComicInfo>\n'
NEW_XML = b'<?xml version="1.0"?>\n<ComicInfo><Series>B</Series><Number>1</Number></ComicInfo>\n'


def test_rename_that_happened_is_done(ctx: Context, watched: Path) -> None:
    make_cbz(watched / "B" / "B - Chapter 0001.cbz", comicinfo=NEW_XML)
    action = ctx.store.record_action(
        "process", "B/b ch1.cbz", "B/B - Chapter 0001.cbz", OLD_XML, NEW_XML, state="pending"
    )

    report = recover(watched, ctx.store, ctx.settings.journal_dir)

    assert report.finished == ["B/B - Chapter 0001.cbz"]
    assert ctx.store.get_action(action).state == "done"


def test_rename_whose_tags_were_never_written_gives_the_name_back(ctx: Context, watched: Path) -> None:
    """The pipeline renames first, then writes the tags; a kill in between is undone, not called done."""
    renamed = make_cbz(watched / "B" / "B - Chapter 0001.cbz", comicinfo=OLD_XML)
    data = renamed.read_bytes()
    ctx.store.mark("B/B - Chapter 0001.cbz", status=Status.UNPROCESSED)
    action = ctx.store.record_action(
        "process", "B/b ch1.cbz", "B/B - Chapter 0001.cbz", OLD_XML, NEW_XML, state="pending"
    )

    report = recover(watched, ctx.store, ctx.settings.journal_dir)

    assert report.rolled_back == ["B/B - Chapter 0001.cbz"]
    assert ctx.store.get_action(action).state == "rolled_back"
    assert not renamed.exists() and (watched / "B" / "b ch1.cbz").read_bytes() == data
    row = ctx.store.get_file("B/b ch1.cbz")
    assert row is not None and row.status == Status.UNPROCESSED
    assert ctx.store.get_file("B/B - Chapter 0001.cbz") is None


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


def test_a_pending_change_of_a_process_still_running_is_left_to_it(ctx: Context, watched: Path) -> None:
    """A CLI run started while the server works must not undo the server's change under way."""
    renamed = make_cbz(watched / "B" / "B - Chapter 0001.cbz", comicinfo=OLD_XML)  # renamed, tags to come
    data = renamed.read_bytes()
    action = ctx.store.record_action(
        "process", "B/b ch1.cbz", "B/B - Chapter 0001.cbz", OLD_XML, NEW_XML, state="pending"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LIBRARY, str(ctx.settings.presence_lock)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        presence = LibraryPresence(ctx.settings.presence_lock)
        try:
            alone = presence.alone()
            recover(watched, ctx.store, ctx.settings.journal_dir, settle_actions=alone)
        finally:
            presence.close()
        assert alone is False
        assert ctx.store.get_action(action).state == "pending"
        assert renamed.read_bytes() == data
    finally:
        holder.communicate("")  # the other process ends; its lock goes with it
    presence = LibraryPresence(ctx.settings.presence_lock)
    try:
        assert presence.alone() is True
    finally:
        presence.close()


HOLD_THE_LIBRARY = """
import sys
from pathlib import Path
from comicmaintainer.library.locks import LibraryPresence
presence = LibraryPresence(Path(sys.argv[1]))
presence.share()
print("holding", flush=True)
sys.stdin.read()
"""
