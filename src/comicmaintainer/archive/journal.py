"""Undo journal for in-place archive writes, and the recovery that replays it.

Before ``cbz_inplace`` overwrites the tail of an archive it saves an *undo record* holding
everything needed to put the file back exactly as it was:

* the offset where the rewrite starts and the file's original length;
* the original bytes from that offset to the end (the *old tail*);
* the bytes it is about to write (the *new tail*), so recovery can tell "finished" from "torn";
* when ComicInfo.xml was not last, the same for a second, fixed-length region near the start of
  the file (the *head*: the local header that covers the old ComicInfo.xml, see ``cbz_head``);
* a few KB just before the offset (the *guard*), which the write never touches: if they no longer
  match, the file was replaced by something else since, and recovery leaves it alone;
* a sequence number (nanosecond clock) and a SHA-256 of all of the above.

Records live in a few *slot* files (``slot-NN.undo``) in the journal folder, reused from one
write to the next, because a durable write into a file that already exists costs one disk flush
(``fdatasync``) where creating, then deleting, a journal file per write costs three. A writer
takes a free slot with an exclusive ``flock`` (so threads and processes never share one), writes
its record over the old content and fdatasyncs it before touching the archive. A record whose
checksum fails was cut short while being written: its archive was never touched. Once the
archive is durable (its flush runs on a thread of its own after the write returns, see
``unflushed``; ``clear_record``) the slot's magic bytes are zeroed, without a flush: a record that comes back
after a power cut is found finished (new tail in place) and cleared then. Writes to one archive
are serialised by the caller, so when several records name one archive only the newest (highest
sequence number) can be unfinished; the older ones are just cleared.

Recovery (``recover`` at start-up, ``recover_path`` before writing to one file) looks at the
archive: if its tail (and head) are exactly the new bytes, the write finished; if they are a mix
of old and new bytes, the old bytes and length are put back; anything else means someone else
changed the file, and it is left alone. The archive is fsynced before the record is cleared, and
running recovery twice does nothing more than running it once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from comicmaintainer.archive.atomic import fsync_dir

logger = logging.getLogger(__name__)

_MAGIC = b"CM-UNDO3"
# magic, sequence, tail offset, head offset; lengths of path, guard, old and new tail, old and new head
_HEAD = struct.Struct("<8s9Q")
# Records written before the head region existed (no head offset, no head lengths): still replayed.
_MAGIC_V2, _HEAD_V2 = b"CM-UNDO2", struct.Struct("<8s6Q")
_DIGEST = 32
_SLOT_GLOB = "slot-*.undo"
_SLOT_SIZE = 256 * 1024  # written once with zeros, so later records overwrite allocated blocks
_MAX_SLOTS = 256


class JournalError(Exception):
    """A record is cut short or damaged; ``str()`` is one plain line."""


@dataclass(frozen=True)
class UndoRecord:
    """What an in-place write is about to change in one archive."""

    path: Path
    offset: int
    guard: bytes
    old_tail: bytes
    new_tail: bytes
    sequence: int = 0
    head_offset: int = 0
    old_head: bytes = b""  # same length as new_head; both empty when only the tail changes
    new_head: bytes = b""

    @property
    def old_length(self) -> int:
        return self.offset + len(self.old_tail)

    @property
    def new_length(self) -> int:
        return self.offset + len(self.new_tail)


@dataclass(frozen=True)
class RecoveryOutcome:
    """What recovery did for one record.

    ``action`` is one of: ``completed`` (the write had finished), ``rolled_back`` (old bytes put
    back), ``unchanged`` (nothing had been written yet), ``superseded`` (an older record of an
    archive written again since), ``dropped_missing`` (the archive is gone),
    ``dropped_changed`` (the archive was changed by someone else; left alone),
    ``dropped_unfinished`` (the record was cut short while being written: the archive was never
    touched), ``failed`` (an error; the record is kept for the next try).
    """

    path: Path
    action: str
    detail: str = ""


def encode(record: UndoRecord) -> bytes:
    raw_path = os.fsencode(record.path)
    parts = [raw_path, record.guard, record.old_tail, record.new_tail, record.old_head, record.new_head]
    head = _HEAD.pack(_MAGIC, record.sequence, record.offset, record.head_offset, *map(len, parts))
    body = b"".join([head, *parts])
    return body + hashlib.sha256(body).digest()


def decode(data: bytes) -> UndoRecord | None:
    """The record at the start of ``data``; ``None`` for an empty (cleared) slot."""
    header = _header(data)
    if header is None:
        return None
    fixed, sequence, offset, head_offset, sizes = header
    end = fixed + sum(sizes)
    if end + _DIGEST > len(data) or hashlib.sha256(data[:end]).digest() != data[end : end + _DIGEST]:
        raise JournalError("undo record cut short (checksum mismatch)")
    parts, pos = [], fixed
    for size in sizes:
        parts.append(data[pos : pos + size])
        pos += size
    path, guard, old_tail, new_tail, *head = parts + [b"", b""]
    return UndoRecord(
        Path(os.fsdecode(path)), offset, guard, old_tail, new_tail, sequence, head_offset, head[0], head[1]
    )


def _header(data: bytes) -> tuple[int, int, int, int, list[int]] | None:
    """(header size, sequence, tail offset, head offset, part lengths); ``None`` when cleared."""
    if data[:8] == _MAGIC and len(data) >= _HEAD.size:
        _, sequence, offset, head_offset, *sizes = _HEAD.unpack_from(data)
        return _HEAD.size, sequence, offset, head_offset, sizes
    if data[:8] == _MAGIC_V2 and len(data) >= _HEAD_V2.size:
        _, sequence, offset, *sizes = _HEAD_V2.unpack_from(data)
        return _HEAD_V2.size, sequence, offset, 0, sizes
    return None


class Slot:
    """One slot file, held with an exclusive lock while a write uses it."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path, self.fd = path, fd

    def read(self) -> UndoRecord | None:
        header = _header(_pread_all(self.fd, 0, _HEAD.size))
        if header is None:
            return None  # the common case: one small read
        size = header[0] + sum(header[4]) + _DIGEST
        return decode(_pread_all(self.fd, 0, size))

    def store(self, record: UndoRecord) -> None:
        """Durably write ``record``: after this returns a crash at any instant is recoverable."""
        _pwrite_all(self.fd, encode(record), 0)
        os.fdatasync(self.fd)

    def clear(self) -> None:
        """Mark the slot free (no flush: a record that comes back is found finished)."""
        _pwrite_all(self.fd, bytes(len(_MAGIC)), 0)


@contextlib.contextmanager
def free_slot(journal_dir: Path) -> Iterator[Slot]:
    """A locked slot holding no pending record (a new one is made when all are busy)."""
    journal_dir = Path(journal_dir)
    _ensure_dir(journal_dir)
    for n in range(_MAX_SLOTS):
        slot = _lock_slot(journal_dir / f"slot-{n:02d}.undo", create=True)
        if slot is None:
            continue
        try:
            if _holds_pending(slot):
                continue  # a write whose recovery failed: keep its record for the next try
            yield slot
            return
        finally:
            os.close(slot.fd)  # also drops the lock
    raise OSError(f"all {_MAX_SLOTS} undo journal slots are busy")


def clear_record(slot_path: Path, sequence: int) -> None:
    """Clear the slot if it still holds the record numbered ``sequence`` (waits for its lock).

    Another thread or process may have settled and cleared it meanwhile, and a new write may then
    have taken the slot: its record must stay.
    """
    fd = os.open(slot_path, os.O_RDWR | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        header = _header(_pread_all(fd, 0, _HEAD.size))
        if header is not None and header[1] == sequence:
            Slot(slot_path, fd).clear()
    finally:
        os.close(fd)  # also drops the lock


def _lock_slot(path: Path, create: bool) -> Slot | None:
    fd = os.open(path, os.O_RDWR | (os.O_CREAT if create else 0) | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.fstat(fd).st_size == 0:
            _pwrite_all(fd, bytes(_SLOT_SIZE), 0)
            os.fsync(fd)
            fsync_dir(path.parent)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return Slot(path, fd)


def _holds_pending(slot: Slot) -> bool:
    try:
        return slot.read() is not None
    except JournalError:
        return False  # cut short: its archive was never touched


def _ensure_dir(journal_dir: Path) -> None:
    if journal_dir.is_dir():
        return
    journal_dir.mkdir(parents=True, exist_ok=True)
    fsync_dir(journal_dir.parent)


def new_record(
    path: Path,
    offset: int,
    guard: bytes,
    old_tail: bytes,
    new_tail: bytes,
    *,
    head_offset: int = 0,
    old_head: bytes = b"",
    new_head: bytes = b"",
) -> UndoRecord:
    sequence = time.time_ns()
    return UndoRecord(path, offset, guard, old_tail, new_tail, sequence, head_offset, old_head, new_head)


def pending(journal_dir: Path) -> list[UndoRecord]:
    """Every record not cleared yet (for tests and diagnostics)."""
    found = []
    for path in sorted(Path(journal_dir).glob(_SLOT_GLOB)):
        with contextlib.suppress(JournalError):
            record = decode(path.read_bytes())
            if record is not None:
                found.append(record)
    return found


def recover(journal_dir: Path) -> list[RecoveryOutcome]:
    """Finish or roll back every pending in-place write; safe to run any number of times."""
    return _recover_where(Path(journal_dir), lambda p: True, report_unfinished=True)


def recover_path(path: Path, journal_dir: Path) -> RecoveryOutcome | None:
    """Recover ``path`` (resolved, as writers record it) if it has a pending record; ``None`` when
    there is none."""
    if not any(_may_name(slot, os.fsencode(path)) for slot in _slot_paths(Path(journal_dir))):
        return None  # the common case, found without taking any slot's lock
    outcomes = _recover_where(Path(journal_dir), lambda p: p == path, report_unfinished=False)
    return outcomes[0] if outcomes else None


def _slot_paths(journal_dir: Path) -> list[Path]:
    try:
        with os.scandir(journal_dir) as entries:
            return [Path(e.path) for e in entries if e.name.startswith("slot-") and e.name.endswith(".undo")]
    except OSError:  # no journal folder (yet), or none that can be listed: taking a slot says why
        return []


def _may_name(slot_path: Path, raw_path: bytes) -> bool:
    """True when the slot's record, read without its lock, may be one of ``raw_path``."""
    fd = os.open(slot_path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        start = _pread_all(fd, 0, _HEAD.size + len(raw_path))
    finally:
        os.close(fd)
    header = _header(start)
    return header is not None and start[header[0] : header[0] + len(raw_path)] == raw_path


def _recover_where(
    journal_dir: Path, wanted: Callable[[Path], bool], report_unfinished: bool
) -> list[RecoveryOutcome]:
    if not journal_dir.is_dir():
        return []
    slots = [s for p in sorted(journal_dir.glob(_SLOT_GLOB)) if (s := _lock_slot(p, create=False))]
    try:
        found, outcomes = [], []
        for slot in slots:
            try:
                record = slot.read()
            except JournalError as exc:
                logger.info("clearing unfinished undo record in %s (%s)", slot.path.name, exc)
                slot.clear()
                if report_unfinished:
                    outcomes.append(RecoveryOutcome(slot.path, "dropped_unfinished", str(exc)))
                continue
            if record is not None and wanted(record.path):
                found.append((record, slot))
        seen: set[Path] = set()
        for record, slot in sorted(found, key=lambda pair: -pair[0].sequence):
            outcomes.append(_settle_record(record, slot, newest=record.path not in seen))
            seen.add(record.path)
        return outcomes
    finally:
        for slot in slots:
            os.close(slot.fd)


def _settle_record(record: UndoRecord, slot: Slot, newest: bool) -> RecoveryOutcome:
    if not newest:  # its write finished before the newer one started
        slot.clear()
        return RecoveryOutcome(record.path, "superseded")
    outcome = undo(record, keep_finished=True)
    if outcome.action != "failed":
        slot.clear()
    return outcome


def undo(record: UndoRecord, keep_finished: bool) -> RecoveryOutcome:
    """Replay one record on its archive; ``keep_finished=False`` rolls back even a finished write."""
    try:
        outcome = _replay(record, keep_finished)
    except OSError as exc:
        outcome = RecoveryOutcome(record.path, "failed", f"{exc.strerror or exc}")
    log = logger.error if outcome.action == "failed" else logger.info
    if outcome.action.startswith("dropped"):
        log = logger.warning
    log("recovery of %s: %s %s", record.path, outcome.action, outcome.detail)
    return outcome


def _replay(record: UndoRecord, keep_finished: bool) -> RecoveryOutcome:
    try:
        fd = os.open(record.path, os.O_RDWR)
    except FileNotFoundError:
        return RecoveryOutcome(record.path, "dropped_missing", "the archive no longer exists")
    try:
        action = _settle(fd, record, keep_finished)
        if action == "dropped_changed":
            return RecoveryOutcome(record.path, action, "the archive was changed since; left alone")
        os.fsync(fd)  # what we keep must be durable before the journal goes
        return RecoveryOutcome(record.path, action)
    finally:
        os.close(fd)


def _settle(fd: int, record: UndoRecord, keep_finished: bool) -> str:
    """Bring the open archive to its old or new state; the name of what was done."""
    size = os.fstat(fd).st_size
    guard_start = record.offset - len(record.guard)
    if size < record.offset or _pread_all(fd, guard_start, len(record.guard)) != record.guard:
        return "dropped_changed"
    tail = _pread_all(fd, record.offset, size - record.offset)
    head = _pread_all(fd, record.head_offset, len(record.old_head))
    if keep_finished and tail == record.new_tail and head == record.new_head:
        return "completed"
    if tail == record.old_tail and head == record.old_head:
        return "unchanged"
    if not (
        could_be_torn(tail, record.old_tail, record.new_tail)
        and could_be_torn(head, record.old_head, record.new_head)
    ):
        return "dropped_changed"
    _pwrite_all(fd, record.old_head, record.head_offset)
    _pwrite_all(fd, record.old_tail, record.offset)
    os.ftruncate(fd, record.old_length)
    return "rolled_back"


def could_be_torn(current: bytes, old: bytes, new: bytes) -> bool:
    """True when ``current`` is a state an interrupted overwrite of ``old`` by ``new`` can leave.

    Every byte is then the old byte or the new byte at its position (or zero past the old end,
    where a file that grew may show a hole), and the length lies between the old and the new one.
    Anything else means someone else changed the file: recovery must not write to it.
    """
    if not min(len(old), len(new)) <= len(current) <= max(len(old), len(new)):
        return False
    block = 4096
    for start in range(0, len(current), block):
        piece = current[start : start + block]
        if piece in (old[start : start + block], new[start : start + block]):
            continue
        for i in range(start, start + len(piece)):
            allowed = (old[i : i + 1], new[i : i + 1], b"\0" if i >= len(old) else b"")
            if current[i : i + 1] not in allowed:
                return False
    return True


def _pread_all(fd: int, offset: int, size: int) -> bytes:
    chunks, done = [], 0
    while done < size:
        chunk = os.pread(fd, size - done, offset + done)
        if not chunk:
            break
        chunks.append(chunk)
        done += len(chunk)
    return b"".join(chunks)


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written
