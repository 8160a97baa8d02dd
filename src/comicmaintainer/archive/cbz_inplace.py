"""Write ComicInfo.xml into a CBZ in place, at a cost that does not depend on the archive's size.

How it works
------------
When ComicInfo.xml is the last entry of the archive (or absent), everything after the last page
is small: the ComicInfo.xml entry, the central directory and the end records. A tag write
rewrites only that *tail*, starting at the old ComicInfo.xml local header (or, when there is
none, where the central directory starts):

1. recover any pending journal for this file (a crash during an earlier write);
2. parse the end records and central directory (``cbz_tail.read_layout``) and build the new
   tail: new ComicInfo.xml entry (deflated), the other central records byte for byte, the new
   ComicInfo.xml record last, end records (ZIP64 ones kept or added when needed), comment kept;
3. store an undo record (old tail, original length, new tail, guard bytes) in a free journal
   slot and fdatasync it (``journal.free_slot``, ``Slot.store``);
4. write the new tail over the old one (in pieces of 64 KiB), truncate if it got shorter, and
   return;
5. just after, on a thread of its own (``unflushed``), fdatasync the archive and clear the slot
   (see ``journal`` for why clearing needs no flush). Renames and later writes of the same file
   wait for this step, so the record always finds its file.

When ComicInfo.xml is *not* last (often it is first), the tail starts at the central directory
instead: the new ComicInfo.xml is appended there, and the old entry is covered by a new local
header for the entry after it, padded up to that entry's unmoved data (``cbz_head``). That header
is a second, small region in the same undo record and written in the same step 4. So the first
write to such an archive is as cheap as any later one, and leaves ComicInfo.xml last.

A kill or a power cut between 3 and the end of 5 leaves a record; ``journal.recover`` (at
start-up) or ``journal.recover_path`` (before the next write to that file) then either sees the
finished new tail (and head) and just clears the record, or puts the old bytes and length back.
An I/O error or a full disk during step 4 is rolled back at once from the same record and
reported as ``ArchiveError`` (the archive is then exactly as before). An error of the flush in
step 5 comes after the caller was told the tags are written: the old bytes are put back all the
same, and the error is logged; the archive's size and time then differ from what the caller
recorded, so the watcher sees it as changed and processes it again. Pages are never written:
every byte of page data stays where and as it was. If ComicInfo.xml already holds the same XML,
nothing is written at all (the mtime does not change either).

Cost: a few reads at the end of the file, the central directory (about 80 bytes per entry), a
record of twice the tail (and head), one disk flush before the call returns and one after.
Nothing depends on the size of the pages.

Why the tail needs no slack: the whole tail is rewritten on each write, so a longer XML just makes
the file grow by a few bytes and a shorter one makes it shrink; the journal records the length.
There is exactly one ComicInfo.xml local header at any time, so a reader that walks local headers
sequentially sees only the current one.

When it says no
---------------
``write_comicinfo_inplace`` returns ``False`` (the caller then makes the full atomic copy, which
also moves ComicInfo.xml last so the next write is cheap) when ComicInfo.xml is not last and
cannot be covered (``cbz_head`` says why: mostly an old ComicInfo.xml over 64 KB), when several
entries are named ComicInfo.xml in any letter case (or one in another case), for encrypted
entries, split archives, bytes after the end record, a central directory that is not exactly
where the end record says, ZIP64 end records with extensible data, or any entry that would
overlap the rewritten region. ZIP64 archives (more than 65,535 entries or over 4 GB) are
written in place. Data descriptors and archive comments are fine. A file that cannot be opened
for writing also gives ``False``, so that the full copy reports it in its usual words.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import logging
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NoReturn

from comicmaintainer.archive import cbz_head, cbz_tail, unflushed
from comicmaintainer.archive.errors import ArchiveError
from comicmaintainer.archive.journal import (
    Slot,
    UndoRecord,
    clear_record,
    free_slot,
    new_record,
    recover_path,
    undo,
)
from comicmaintainer.archive.reader import is_comicinfo_name

logger = logging.getLogger(__name__)

# Bytes just before the rewritten region that recovery compares to make sure the file is still ours.
GUARD_SIZE = 4096
_PIECE = 64 * 1024
_COMICINFO_FOLDED = cbz_tail.COMICINFO.lower()

StepHook = Callable[[str], None]


def write_comicinfo_inplace(
    path: Path, xml: bytes, journal_dir: Path, *, step_hook: StepHook | None = None
) -> bool:
    """Replace or add ComicInfo.xml by rewriting only the archive's tail (and, if needed, one header).

    Returns ``True`` when written, ``False`` when the full atomic copy must do it instead (the
    layout is not one we rewrite in place, or the file cannot be opened for writing; nothing was
    changed). Raises ``ArchiveError`` on an I/O error or a full disk; the archive is then as before.
    ``step_hook`` is for tests: it is called with the name of each step as it completes.
    """
    path = Path(path).resolve()
    unflushed.wait(path)  # the previous write's head must be on disk before this one covers it
    _recover_first(path, journal_dir)
    try:
        f = open(path, "r+b")  # noqa: SIM115 - closed in the finally below
    except OSError as exc:
        # Missing, read-only, a folder...: the full copy reports these in its own plain words.
        logger.debug("in-place write not possible: cannot open %s: %s", path, exc)
        return False
    try:
        size = os.fstat(f.fileno()).st_size
        planned = _plan(f, size, xml)
        if planned is None:
            return False
        if planned is _UNCHANGED:
            return True
        record = _record(f, path, size, planned)
        _write(f.fileno(), record, journal_dir, step_hook or _no_hook)
        return True
    finally:
        f.close()


@dataclass(frozen=True)
class _Plan:
    offset: int  # where the new tail starts
    new_tail: bytes
    head: cbz_head.HeadRewrite | None  # when ComicInfo.xml was not last


# ``_plan``'s answer when ComicInfo.xml already holds the new XML.
_UNCHANGED = _Plan(-1, b"", None)


def _record(f: BinaryIO, path: Path, size: int, planned: _Plan) -> UndoRecord:
    """The undo record of ``planned``: what it overwrites, what it writes, and a guard."""
    head = planned.head
    head_end = head.offset + len(head.new_head) if head else 0
    guard_start = max(head_end, planned.offset - GUARD_SIZE)  # bytes neither region touches
    old_tail = _read(f, planned.offset, size - planned.offset)
    return new_record(
        path,
        planned.offset,
        _read(f, guard_start, planned.offset - guard_start),
        old_tail,
        planned.new_tail,
        head_offset=head.offset if head else 0,
        old_head=_read(f, head.offset, len(head.new_head)) if head else b"",
        new_head=head.new_head if head else b"",
    )


def _no_hook(step: str) -> None:
    return None


def _recover_first(path: Path, journal_dir: Path) -> None:
    outcome = recover_path(path, journal_dir)
    if outcome is not None and outcome.action == "failed":
        raise ArchiveError(f"an earlier write to {path.name} could not be recovered: {outcome.detail}")


def _read(f: BinaryIO, offset: int, size: int) -> bytes:
    f.seek(offset)
    return f.read(size)


def _plan(f: BinaryIO, size: int, xml: bytes) -> _Plan | None:
    """What to write, or ``None`` when an in-place write is not safe."""
    layout = cbz_tail.read_layout(f, size)
    if layout is None:
        return None
    if any(cbz_tail.has_unsafe_flags(r) for r in layout.records):
        return _no("an entry is encrypted")
    infos = [r for r in layout.records if _is_comicinfo(r)]
    if len(infos) > 1 or (infos and infos[0].name != cbz_tail.COMICINFO):
        return _no("ComicInfo.xml is duplicated or not spelled ComicInfo.xml")
    info = infos[0] if infos else None
    others = [r for r in layout.records if r is not info]
    if info and _same_content(f, info, xml):
        return _UNCHANGED
    head = None
    if info and any(r.header_offset > info.header_offset for r in others):
        head = cbz_head.plan(f, layout, info)
        if head is None:
            return None
    elif info and not _info_entry_ends_before(f, info, layout.cd_offset):
        return _no("ComicInfo.xml's local header does not match, or its data runs into the directory")
    offset = info.header_offset if info and not head else layout.cd_offset
    if not _all_end_before(f, others, offset):
        return _no("an entry reaches into the region to rewrite")
    if head:  # the next entry's central record now points at its new header
        others = [head.moved if r is head.replaced else r for r in others]
    return _Plan(offset, cbz_tail.build_tail(layout, others, xml, offset), head)


def _is_comicinfo(record: cbz_tail.CentralRecord) -> bool:
    """``reader.is_comicinfo_name`` on the record's name, without decoding the (many) ASCII names."""
    if record.name.isascii():  # there bytes.lower() folds exactly as str.casefold()
        return record.name.lower() == _COMICINFO_FOLDED
    return is_comicinfo_name(record.text_name)


def _same_content(f: BinaryIO, info: cbz_tail.CentralRecord, xml: bytes) -> bool:
    """True when ComicInfo.xml already holds ``xml``: then nothing is written, not even the mtime."""
    return info.crc == zlib.crc32(xml) and cbz_tail.entry_data(f, info, len(xml)) == xml


def _no(reason: str) -> _Plan | None:
    logger.debug("in-place write not possible: %s", reason)
    return None


def _info_entry_ends_before(f: BinaryIO, info: cbz_tail.CentralRecord, cd_offset: int) -> bool:
    if cbz_tail.local_name(f, info.header_offset) != cbz_tail.COMICINFO:
        return False
    end = cbz_tail.entry_end(f, info)
    return end is not None and end <= cd_offset


def _all_end_before(f: BinaryIO, records: list[cbz_tail.CentralRecord], offset: int) -> bool:
    """True when every entry's data ends at or before ``offset`` (the region we will rewrite)."""
    if not records:
        return True
    # A cheap lower bound from the central directory for every entry ...
    if any(cbz_tail.least_end(r) > offset for r in records):
        return False
    # ... and the exact end (local extra field, data descriptor) of the one just before ``offset``.
    last = max(records, key=lambda r: r.header_offset)
    end = cbz_tail.entry_end(f, last)
    return end is not None and end <= offset


def _write(fd: int, record: UndoRecord, journal_dir: Path, hook: StepHook) -> None:
    try:
        with free_slot(journal_dir) as slot:
            slot.store(record)
            hook("journal_written")
            _overwrite(fd, record, slot, hook)
    except OSError as exc:  # from taking a slot or storing the record: the archive is untouched
        raise ArchiveError(f"cannot save the undo journal for {record.path.name}: {_reason(exc)}") from exc
    try:
        archive = os.dup(fd)  # the flush thread's own: ``fd`` is closed when the caller returns
    except OSError:
        _flush(fd, record, slot.path, hook, close=False)  # no descriptor to spare: flush now
        return
    unflushed.flush_later(record.path, functools.partial(_flush, archive, record, slot.path, hook))


def _overwrite(fd: int, record: UndoRecord, slot: Slot, hook: StepHook) -> None:
    try:
        # In pieces of at most 64 KiB (and at least two, so tests can stop between them).
        step = max(1, min(_PIECE, (len(record.new_tail) + 1) // 2))
        for start in range(0, len(record.new_tail), step):
            _pwrite_all(fd, record.new_tail[start : start + step], record.offset + start)
            if start == 0:
                hook("tail_partly_written")
        hook("tail_written")
        if record.new_head:
            _pwrite_all(fd, record.new_head, record.head_offset)
            hook("head_written")
        if record.new_length < record.old_length:
            os.ftruncate(fd, record.new_length)
            hook("truncated")
    except OSError as exc:
        _roll_back_now(record, slot, exc)


def _flush(fd: int, record: UndoRecord, slot_path: Path, hook: StepHook, close: bool = True) -> None:
    """After the write: make the archive durable, then clear its record (on the flush thread)."""
    try:
        try:
            hook("flush_started")  # tests: an OSError here stands for a failed flush
            os.fdatasync(fd)  # data and length: all a reader needs
        except OSError as exc:
            _roll_back_late(record, slot_path, exc)
            return
        hook("file_synced")
        try:
            clear_record(slot_path, record.sequence)
        except OSError as exc:  # the archive is complete and durable; recovery clears the record later
            logger.warning("could not clear undo record %s: %s", slot_path, exc)
            return
        hook("journal_removed")
    finally:
        if close:
            os.close(fd)


def _roll_back_now(record: UndoRecord, slot: Slot, exc: OSError) -> NoReturn:
    """Put the old tail back at once; when even that fails the record stays for recovery."""
    reason, name = _reason(exc), record.path.name
    outcome = undo(record, keep_finished=False)
    if outcome.action == "failed":
        raise ArchiveError(
            f"writing tags to {name} failed ({reason}); rollback pending ({outcome.detail})"
        ) from exc
    with contextlib.suppress(OSError):
        slot.clear()
    raise ArchiveError(f"writing tags to {name} failed ({reason}); the archive is unchanged") from exc


def _roll_back_late(record: UndoRecord, slot_path: Path, exc: OSError) -> None:
    """The flush failed after the caller was told the write was done: put the old bytes back."""
    reason, name = _reason(exc), record.path.name
    outcome = undo(record, keep_finished=False)
    if outcome.action == "failed":
        logger.error(
            "tags written to %s did not reach the disk (%s); rollback pending (%s)",
            name,
            reason,
            outcome.detail,
        )
        return
    with contextlib.suppress(OSError):
        clear_record(slot_path, record.sequence)
    logger.error("tags written to %s did not reach the disk (%s); the old tags are back", name, reason)


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def _reason(exc: OSError) -> str:
    """A few plain words for an OS error."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "disk full"
    if exc.errno == errno.EFBIG:
        return "file size limit reached"
    return exc.strerror or str(exc)
