"""The archive's flush after an in-place write: off the caller's path, yet never skipped."""

from __future__ import annotations

import errno
import logging
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from comicmaintainer.archive import journal, unflushed
from comicmaintainer.archive.atomic import rename_no_replace
from comicmaintainer.archive.cbz_inplace import write_comicinfo_inplace
from tests.archive_inplace import build_cbz, new_xml, read_info, tool_errors

ROOT = Path(__file__).resolve().parents[2]


def held_flush(release: threading.Event) -> Callable[[str], None]:
    """A step hook that holds the flush thread at its start until ``release`` is set."""

    def hook(step: str) -> None:
        if step == "flush_started":
            assert release.wait(10)

    return hook


def started(call: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=call)
    thread.start()
    return thread


def test_failed_flush_puts_the_old_tags_back(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path, jdir = build_cbz(tmp_path / "a.cbz"), tmp_path / "j"
    before = path.read_bytes()

    def fail(step: str) -> None:
        if step == "flush_started":
            raise OSError(errno.EIO, "Input/output error")

    with caplog.at_level(logging.ERROR):
        assert write_comicinfo_inplace(path, new_xml("New", 3000), jdir, step_hook=fail)
        unflushed.wait_all()
    assert path.read_bytes() == before
    assert journal.pending(jdir) == []
    assert "a.cbz did not reach the disk (Input/output error); the old tags are back" in caplog.text


def test_rename_waits_for_the_flush(tmp_path: Path) -> None:
    """The record names the archive's path: renaming first would leave it pointing at nothing."""
    path, jdir, release = build_cbz(tmp_path / "a.cbz"), tmp_path / "j", threading.Event()
    assert write_comicinfo_inplace(path, new_xml("New"), jdir, step_hook=held_flush(release))
    renaming = started(lambda: rename_no_replace(path, tmp_path / "b.cbz"))
    renaming.join(0.3)
    assert renaming.is_alive() and path.exists(), "the rename went ahead of the flush"
    assert len(journal.pending(jdir)) == 1
    release.set()
    renaming.join(10)
    assert not path.exists()
    assert read_info(tmp_path / "b.cbz") == new_xml("New")
    assert journal.pending(jdir) == []


def test_next_write_waits_for_the_flush_of_the_same_file(tmp_path: Path) -> None:
    """A first write's header rewrite must be on disk before a second write builds on it."""
    path, jdir, release = build_cbz(tmp_path / "a.cbz", info="first"), tmp_path / "j", threading.Event()
    other = build_cbz(tmp_path / "other.cbz")
    assert write_comicinfo_inplace(path, new_xml("First"), jdir, step_hook=held_flush(release))
    assert write_comicinfo_inplace(other, new_xml("Other"), jdir), "another file does not wait"
    second = started(lambda: write_comicinfo_inplace(path, new_xml("Second", 2000), jdir))
    second.join(0.3)
    assert second.is_alive() and read_info(path) == new_xml("First")
    release.set()
    second.join(10)
    unflushed.wait_all()
    assert read_info(path) == new_xml("Second", 2000)
    assert tool_errors(path) == []
    assert journal.pending(jdir) == []


def test_flush_ends_before_the_program_exits(tmp_path: Path) -> None:
    """A program that returns right after a write still leaves the archive flushed and no record."""
    path, jdir = build_cbz(tmp_path / "a.cbz"), tmp_path / "j"
    script = f"""
import time
from pathlib import Path
from comicmaintainer.archive.cbz_inplace import write_comicinfo_inplace
from tests.archive_inplace import new_xml

def slow_flush(step):
    if step == "flush_started":
        time.sleep(0.5)

assert write_comicinfo_inplace(Path({str(path)!r}), new_xml("New"), Path({str(jdir)!r}), step_hook=slow_flush)
"""
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, timeout=60)
    assert journal.pending(jdir) == []
    assert read_info(path) == new_xml("New")
