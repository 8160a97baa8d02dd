"""Crash at each step of an in-place write, then recover: the archive is whole, old or new."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import struct
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from comicmaintainer.archive import journal, unflushed
from comicmaintainer.archive.cbz_inplace import write_comicinfo_inplace
from comicmaintainer.archive.errors import ArchiveError
from tests.archive_inplace import OLD_XML, build_cbz, new_xml, page_hashes, read_info, tool_errors

STEPS = [
    "journal_written",
    "tail_partly_written",
    "tail_written",
    "truncated",
    "flush_started",
    "file_synced",
    "journal_removed",
]
HEAD_STEPS = [
    "journal_written",
    "tail_partly_written",
    "tail_written",
    "head_written",
    "flush_started",
    "file_synced",
]
# Steps of the flush that follows the call, on a thread of its own.
FLUSH_STEPS = ("flush_started", "file_synced", "journal_removed")


class SimulatedCrash(BaseException):
    """Stands for the process dying: not an OSError, so the writer does not clean up."""


def crash_at(step: str):  # noqa: ANN201 - a small closure factory
    def hook(name: str) -> None:
        if name == step:
            raise SimulatedCrash(name)

    return hook


def crashed_write(path: Path, jdir: Path, xml: bytes, step: str) -> None:
    """A write that stops for good at ``step``, in the call or in the flush that follows it."""
    if step not in FLUSH_STEPS:
        with pytest.raises(SimulatedCrash):
            write_comicinfo_inplace(path, xml, jdir, step_hook=crash_at(step))
        return
    assert write_comicinfo_inplace(path, xml, jdir, step_hook=crash_at(step))
    unflushed.wait_all()  # the flush thread stopped at ``step``


# Growing XML reaches every step but "truncated"; shrinking XML reaches every step. With
# ComicInfo.xml first, the old entry is covered by the next entry's header ("head_written") and
# the file always grows.
CASES = (
    [(step, 3000, "last") for step in STEPS if step != "truncated"]
    + [(step, 0, "last") for step in STEPS]
    + [(step, 0, "first") for step in HEAD_STEPS]
)
EXPECTED = {
    "journal_written": "unchanged",
    "tail_partly_written": "rolled_back",
    "head_written": "completed",
    "truncated": "completed",
    "flush_started": "completed",
    "file_synced": "completed",
    "journal_removed": None,
}


@pytest.mark.parametrize(("step", "padding", "info"), CASES)
def test_crash_at_each_step_then_recover(tmp_path: Path, step: str, padding: int, info: str) -> None:
    old_xml = new_xml("Old", 1500)
    path = build_cbz(tmp_path / "a.cbz", compression=zipfile.ZIP_DEFLATED, xml=old_xml, info=info)
    pages, old = page_hashes(path), read_info(path)
    jdir = tmp_path / "journal"
    xml = new_xml("New", padding)
    crashed_write(path, jdir, xml, step)
    outcomes = journal.recover(jdir)
    if step == "tail_written":  # the head still holds the old bytes, or a shrunk file is not cut yet
        expected = "completed" if padding and info == "last" else "rolled_back"
    else:
        expected = EXPECTED[step]
    assert [o.action for o in outcomes] == ([expected] if expected else [])
    assert read_info(path) == (xml if expected in ("completed", None) else old)
    assert page_hashes(path) == pages
    assert tool_errors(path) == []
    assert journal.pending(jdir) == []
    assert journal.recover(jdir) == [], "recovery is idempotent"


def test_torn_head_is_rolled_back(tmp_path: Path) -> None:
    """A head written only in part (a power cut mid-write) is put back from the record."""
    path = build_cbz(tmp_path / "a.cbz", info="first", xml=new_xml("Old", 1500))
    before, jdir = path.read_bytes(), tmp_path / "journal"
    crashed_write(path, jdir, new_xml("New"), "head_written")
    (record,) = journal.pending(jdir)
    half = len(record.new_head) // 2
    with path.open("r+b") as f:  # the first half new, the second half old again
        f.seek(record.head_offset + half)
        f.write(record.old_head[half:])
    assert [o.action for o in journal.recover(jdir)] == ["rolled_back"]
    assert path.read_bytes() == before


def test_next_write_recovers_first(tmp_path: Path) -> None:
    path, jdir = build_cbz(tmp_path / "a.cbz"), tmp_path / "j"
    crashed_write(path, jdir, new_xml("Lost", 4000), "tail_partly_written")
    assert write_comicinfo_inplace(path, new_xml("Next"), jdir)
    assert read_info(path) == new_xml("Next")
    assert tool_errors(path) == []
    unflushed.wait_all()
    assert journal.pending(jdir) == []


def test_io_error_rolls_back_at_once(tmp_path: Path) -> None:
    path, jdir = build_cbz(tmp_path / "a.cbz"), tmp_path / "j"
    before = path.read_bytes()

    def fail(step: str) -> None:
        if step == "tail_partly_written":
            raise OSError(errno.EIO, "Input/output error")

    with pytest.raises(ArchiveError, match="failed \\(Input/output error\\); the archive is unchanged"):
        write_comicinfo_inplace(path, new_xml("New", 5000), jdir, step_hook=fail)
    assert path.read_bytes() == before
    assert journal.pending(jdir) == []


def test_vanished_archive_drops_its_journal(tmp_path: Path) -> None:
    path, jdir = build_cbz(tmp_path / "a.cbz"), tmp_path / "j"
    crashed_write(path, jdir, new_xml("New"), "tail_partly_written")
    path.unlink()
    outcomes = journal.recover(jdir)
    assert [(o.path, o.action) for o in outcomes] == [(path, "dropped_missing")]
    assert journal.pending(jdir) == []


def test_replaced_archive_is_left_alone(tmp_path: Path) -> None:
    path, jdir = build_cbz(tmp_path / "a.cbz"), tmp_path / "j"
    crashed_write(path, jdir, new_xml("New"), "tail_partly_written")
    other = build_cbz(tmp_path / "other.cbz", pages=9, xml=new_xml("Other"))
    shutil.copyfile(other, path)
    assert [o.action for o in journal.recover(jdir)] == ["dropped_changed"]
    assert path.read_bytes() == other.read_bytes()


def _slot_with_record(jdir: Path) -> Path:
    (slot,) = [p for p in jdir.iterdir() if p.read_bytes()[:8] == b"CM-UNDO3"]
    return slot


def test_record_cut_short_is_dropped(tmp_path: Path) -> None:
    path, jdir = build_cbz(tmp_path / "a.cbz"), tmp_path / "j"
    crashed_write(path, jdir, new_xml("New"), "journal_written")
    slot = _slot_with_record(jdir)
    data = bytearray(slot.read_bytes())
    data[200] ^= 0xFF  # as if the power went while the record was being written
    slot.write_bytes(bytes(data))
    assert [o.action for o in journal.recover(jdir)] == ["dropped_unfinished"]
    assert journal.pending(jdir) == []
    assert read_info(path) == OLD_XML


def test_record_of_the_earlier_format_is_replayed(tmp_path: Path) -> None:
    """A record written before head regions existed (CM-UNDO2, no head) is still recovered."""
    path, jdir = build_cbz(tmp_path / "a.cbz"), tmp_path / "j"
    before = path.read_bytes()
    crashed_write(path, jdir, new_xml("New"), "tail_partly_written")
    slot = _slot_with_record(jdir)
    (r,) = journal.pending(jdir)
    parts = [os.fsencode(r.path), r.guard, r.old_tail, r.new_tail]
    body = struct.pack("<8s6Q", b"CM-UNDO2", r.sequence, r.offset, *map(len, parts)) + b"".join(parts)
    slot.write_bytes(body + hashlib.sha256(body).digest())
    assert [o.action for o in journal.recover(jdir)] == ["rolled_back"]
    assert path.read_bytes() == before


def test_record_back_after_a_lost_clear_is_dropped(tmp_path: Path) -> None:
    """A slot is cleared without a flush; a power cut may bring its record back."""
    path, jdir = build_cbz(tmp_path / "a.cbz"), tmp_path / "j"
    saved: list[tuple[Path, bytes]] = []

    def keep_record(step: str) -> None:
        if step == "file_synced":
            saved.append((_slot_with_record(jdir), _slot_with_record(jdir).read_bytes()))

    assert write_comicinfo_inplace(path, new_xml("New"), jdir, step_hook=keep_record)
    unflushed.wait_all()
    assert saved, "the flush reached file_synced"
    for slot, data in saved:
        slot.write_bytes(data)
    assert [o.action for o in journal.recover(jdir)] == ["completed"]
    assert read_info(path) == new_xml("New")
    assert journal.pending(jdir) == []


def test_only_the_newest_record_of_an_archive_is_replayed(tmp_path: Path) -> None:
    path, jdir = build_cbz(tmp_path / "a.cbz"), tmp_path / "j"
    saved: list[bytes] = []

    def keep_record(step: str) -> None:
        if step == "file_synced":
            saved.append(_slot_with_record(jdir).read_bytes())

    assert write_comicinfo_inplace(path, new_xml("First"), jdir, step_hook=keep_record)
    unflushed.wait_all()
    crashed_write(path, jdir, new_xml("Second", 3000), "tail_partly_written")
    (jdir / "slot-09.undo").write_bytes(saved[0])  # the first write's record, come back
    outcomes = journal.recover(jdir)
    assert sorted(o.action for o in outcomes) == ["rolled_back", "superseded"]
    assert read_info(path) == new_xml("First")
    assert tool_errors(path) == []


def test_concurrent_writes_use_separate_slots(tmp_path: Path) -> None:
    jdir = tmp_path / "j"
    paths = [build_cbz(tmp_path / f"{n}.cbz") for n in range(3)]
    all_inside = threading.Barrier(3, timeout=10)

    def wait_for_the_others(step: str) -> None:
        if step == "journal_written":
            all_inside.wait()  # every writer holds its slot at this instant

    def write(path: Path) -> bool:
        return write_comicinfo_inplace(path, new_xml(path.stem), jdir, step_hook=wait_for_the_others)

    with ThreadPoolExecutor(3) as pool:
        done = list(pool.map(write, paths))
    assert done == [True, True, True]
    assert [read_info(p) for p in paths] == [new_xml(p.stem) for p in paths]
    assert len(list(jdir.glob("slot-*.undo"))) == 3


def test_recover_path_only_touches_its_file(tmp_path: Path) -> None:
    jdir = tmp_path / "j"
    a, b = build_cbz(tmp_path / "a.cbz"), build_cbz(tmp_path / "b.cbz")
    crashed_write(a, jdir, new_xml("A"), "tail_partly_written")
    crashed_write(b, jdir, new_xml("B"), "tail_partly_written")
    assert journal.recover_path(tmp_path / "c.cbz", jdir) is None
    outcome = journal.recover_path(a, jdir)
    assert outcome is not None and outcome.action == "rolled_back"
    assert len(journal.pending(jdir)) == 1
    assert [o.path for o in journal.recover(jdir)] == [b]
