"""Undo journal for in-place archive writes, and the recovery that replays it.

Before ``cbz_inplace`` overwrites the tail of an archive it saves, in one journal file per
archive, everything needed to put the file back exactly as it was:

* the offset where the rewrite starts and the file's original length;
* the original bytes from that offset to the end (the *old tail*);
* the bytes it is about to write (the *new tail*), so recovery can tell "finished" from "torn";
* a few KB just before the offset (the *guard*), which the write never touches: if they no longer
  match, the file was replaced by something else since, and recovery leaves it alone;
* a SHA-256 of all of the above.

The journal's name is a hash of the archive's absolute path, which makes "is there a pending
record for this file?" one ``stat``. It is written in place and fsynced (with its folder) before
the archive is touched, so a journal whose checksum fails was cut short while being written:
the archive was never touched, and recovery just drops it. Once the archive is fsynced the
journal is unlinked without fsyncing the folder (one disk flush saved per write): should the
unlink be lost in a power cut, recovery finds the new tail in place and drops the journal then.
Writes to one archive are serialised by the caller, and each new journal for a path replaces
the previous one, so a journal that comes back this way is always the newest for its archive.

Recovery (``recover`` at start-up, ``recover_path`` before writing to one file) looks at the
archive: if its tail is exactly the new tail, the write finished and only the journal remains
to drop; otherwise the old tail and length are put back. Either way the file is fsynced before
the journal is removed, and running recovery twice does nothing more than running it once.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import struct
from dataclasses import dataclass
from pathlib import Path

from comicmaintainer.archive.atomic import fsync_dir

logger = logging.getLogger(__name__)

JOURNAL_SUFFIX = ".undo"
_MAGIC = b"CM-UNDO1"
_HEAD = struct.Struct("<8s5Q")  # magic, offset, path length, guard, old tail and new tail lengths
_DIGEST = 32


class JournalError(Exception):
    """A journal file is damaged or unreadable; ``str()`` is one plain line."""


@dataclass(frozen=True)
class UndoRecord:
    """What an in-place write is about to change in one archive."""

    path: Path
    offset: int
    guard: bytes
    old_tail: bytes
    new_tail: bytes

    @property
    def old_length(self) -> int:
        return self.offset + len(self.old_tail)

    @property
    def new_length(self) -> int:
        return self.offset + len(self.new_tail)


@dataclass(frozen=True)
class RecoveryOutcome:
    """What recovery did for one journal.

    ``action`` is one of: ``completed`` (the write had finished; journal dropped), ``rolled_back``
    (old bytes put back), ``unchanged`` (nothing had been written yet), ``dropped_missing`` (the
    archive is gone), ``dropped_changed`` (the archive was changed by someone else; left alone),
    ``dropped_unfinished`` (the journal was cut short while being written: the archive was never
    touched),
    ``failed`` (an error; the journal is kept for the next try).
    """

    path: Path
    action: str
    detail: str = ""


def journal_path(journal_dir: Path, path: Path) -> Path:
    """Where the journal for ``path`` lives (one per archive, named after its absolute path)."""
    key = hashlib.sha256(os.fsencode(Path(path).resolve())).hexdigest()[:40]
    return Path(journal_dir) / f"{key}{JOURNAL_SUFFIX}"


def encode(record: UndoRecord) -> bytes:
    raw_path = os.fsencode(record.path)
    lengths = (record.offset, len(raw_path), len(record.guard), len(record.old_tail), len(record.new_tail))
    body = b"".join([_HEAD.pack(_MAGIC, *lengths), raw_path, record.guard, record.old_tail, record.new_tail])
    return body + hashlib.sha256(body).digest()


def decode(data: bytes) -> UndoRecord:
    if len(data) < _HEAD.size + _DIGEST or hashlib.sha256(data[:-_DIGEST]).digest() != data[-_DIGEST:]:
        raise JournalError("journal is damaged (checksum mismatch)")
    magic, offset, *sizes = _HEAD.unpack_from(data)
    if magic != _MAGIC or _HEAD.size + sum(sizes) + _DIGEST != len(data):
        raise JournalError("journal has an unknown format")
    parts, pos = [], _HEAD.size
    for size in sizes:
        parts.append(data[pos : pos + size])
        pos += size
    return UndoRecord(Path(os.fsdecode(parts[0])), offset, parts[1], parts[2], parts[3])


def write_journal(journal_dir: Path, record: UndoRecord) -> Path:
    """Durably store ``record``; after this returns, a crash at any instant is recoverable."""
    journal_dir = Path(journal_dir)
    _ensure_dir(journal_dir)
    final = journal_path(journal_dir, record.path)
    try:
        with open(final, "wb") as f:
            f.write(encode(record))
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            final.unlink()
        raise
    fsync_dir(journal_dir)
    return final


def remove_journal(jpath: Path) -> None:
    """Drop a journal once the archive it protects is durable (no folder fsync: see above)."""
    jpath.unlink()


def _ensure_dir(journal_dir: Path) -> None:
    if journal_dir.is_dir():
        return
    journal_dir.mkdir(parents=True, exist_ok=True)
    fsync_dir(journal_dir.parent)


def recover(journal_dir: Path) -> list[RecoveryOutcome]:
    """Finish or roll back every pending in-place write; safe to run any number of times."""
    journal_dir = Path(journal_dir)
    if not journal_dir.is_dir():
        return []
    return [_recover_one(j) for j in sorted(journal_dir.glob(f"*{JOURNAL_SUFFIX}"))]


def recover_path(path: Path, journal_dir: Path) -> RecoveryOutcome | None:
    """Recover ``path`` if it has a pending journal; ``None`` when there is none."""
    jpath = journal_path(journal_dir, path)
    if not jpath.exists():
        return None
    return _recover_one(jpath)


def roll_back(path: Path, journal_dir: Path) -> RecoveryOutcome | None:
    """Put ``path`` back as it was before its pending write, even if that write had finished.

    The writer calls this when it fails part-way (an I/O error, a full disk), so that its error
    can say "the archive is unchanged".
    """
    jpath = journal_path(journal_dir, path)
    if not jpath.exists():
        return None
    return _recover_one(jpath, keep_finished=False)


def _recover_one(jpath: Path, keep_finished: bool = True) -> RecoveryOutcome:
    try:
        record = decode(jpath.read_bytes())
    except OSError as exc:
        logger.error("cannot read undo journal %s: %s", jpath, exc)
        return RecoveryOutcome(jpath, "failed", f"unreadable journal: {exc.strerror or exc}")
    except JournalError as exc:
        # Cut short while being written: the archive is only touched once the journal is durable.
        logger.info("dropping unfinished undo journal %s (%s)", jpath.name, exc)
        jpath.unlink()
        fsync_dir(jpath.parent)
        return RecoveryOutcome(jpath, "dropped_unfinished", str(exc))
    try:
        outcome = _replay(record, keep_finished)
        if outcome.action != "failed":
            remove_journal(jpath)
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
    if keep_finished and tail == record.new_tail:
        return "completed"
    if tail == record.old_tail:
        return "unchanged"
    if not could_be_torn(tail, record):
        return "dropped_changed"
    _pwrite_all(fd, record.old_tail, record.offset)
    os.ftruncate(fd, record.old_length)
    return "rolled_back"


def could_be_torn(tail: bytes, record: UndoRecord) -> bool:
    """True when ``tail`` is a state an interrupted write of ``record`` can leave on disk.

    Every byte is then the old byte or the new byte at its position (or zero past the old end,
    where a file that grew may show a hole), and the length lies between the old and the new one.
    Anything else means someone else changed the file: recovery must not write to it.
    """
    old, new = record.old_tail, record.new_tail
    if not min(len(old), len(new)) <= len(tail) <= max(len(old), len(new)):
        return False
    block = 4096
    for start in range(0, len(tail), block):
        piece = tail[start : start + block]
        if piece in (old[start : start + block], new[start : start + block]):
            continue
        for i in range(start, start + len(piece)):
            allowed = (old[i : i + 1], new[i : i + 1], b"\0" if i >= len(old) else b"")
            if tail[i : i + 1] not in allowed:
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
