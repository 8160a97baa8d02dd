"""`comicmaintainer watch`: the real observer in front of the real pipeline, run as a user runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from comicmaintainer.archive.reader import read_archive
from comicmaintainer.config import load_settings, save_config
from comicmaintainer.library.store import Store
from tests.archive_factory import make_cbz


def wait_for(check, timeout: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_dropped_file_is_processed_once_and_our_rename_is_no_echo(tmp_path: Path) -> None:
    watched, config = tmp_path / "library", tmp_path / "config"
    (watched / "Berserk").mkdir(parents=True)
    env = {**os.environ, "WATCHED_DIR": str(watched), "CONFIG_DIR": str(config)}
    save_config(load_settings(env), quiet_period=0.5)
    make_cbz(watched / "Berserk" / "already here ch 2.cbz")  # present before start: caught up
    proc = subprocess.Popen(
        [sys.executable, "-m", "comicmaintainer.cli", "watch"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        staged = make_cbz(tmp_path / "Berserk ch 7.cbz")
        os.rename(staged, watched / "Berserk" / "Berserk ch 7.cbz")
        done = watched / "Berserk" / "Berserk - Chapter 0007.cbz"
        caught_up = watched / "Berserk" / "Berserk - Chapter 0002.cbz"
        assert wait_for(lambda: done.exists() and caught_up.exists()), proc.stderr and proc.poll()
        # An echo of our own renames would come from events older than this file's: by the time the
        # watcher has processed it, such an echo would have been processed (and counted) too.
        staged = make_cbz(tmp_path / "Berserk ch 9.cbz", seed=9)
        os.rename(staged, watched / "Berserk" / "Berserk ch 9.cbz")
        assert wait_for((watched / "Berserk" / "Berserk - Chapter 0009.cbz").exists)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
    status_lines = [line for line in stderr.splitlines() if " processed, " in line]
    assert status_lines and "3 processed, 0 failed" in status_lines[-1], stderr
    assert read_archive(done).metadata.title == "Chapter 7"
    with Store(config / "store" / "comicmaintainer.db") as store:
        actions = store.list_actions(50)
    assert sorted(a.new_path for a in actions if a.kind == "process") == [
        "Berserk/Berserk - Chapter 0002.cbz",
        "Berserk/Berserk - Chapter 0007.cbz",
        "Berserk/Berserk - Chapter 0009.cbz",
    ]


def test_unreadable_file_is_marked_for_attention_and_left_alone(ctx, watched: Path) -> None:  # type: ignore[no-untyped-def]
    from comicmaintainer.library.store import Status
    from comicmaintainer.watcher.pipeline_target import PipelineTarget

    broken = watched / "B" / "b ch 1.cbz"
    broken.parent.mkdir()
    broken.write_bytes(b"PK\x03\x04 half a download")
    target = PipelineTarget(ctx)

    target.unreadable("B/b ch 1.cbz")
    target.unreadable("B/b ch 1.cbz")

    row = ctx.store.get_file("B/b ch 1.cbz")
    assert row is not None and row.status == Status.NEEDS_ATTENTION and "not a readable archive" in row.error
    assert broken.read_bytes() == b"PK\x03\x04 half a download"
