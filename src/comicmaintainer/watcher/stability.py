"""When is a file finished? Unchanged for a quiet period, and it opens as an archive.

A download client or a copy from a slow disk writes an archive over seconds or minutes. We
never touch a file before its (size, mtime_ns) has stayed the same for the whole quiet period
*and* its archive directory is readable: a zip's central directory sits at the very end, so a
truncated copy fails to open however long the writer pauses. A file that is stable but still
unreadable is held until it changes again, never handed to the pipeline.

Durations come from an injectable monotonic clock: the wall clock can jump (NTP, suspend), and
tests drive time by hand.
"""

from __future__ import annotations

import os
import stat
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import rarfile

Signature = tuple[int, int]  # (size, mtime_ns)
Fingerprint = tuple[int, int, int]  # (size, mtime_ns, inode)
Clock = Callable[[], float]

_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_RAR_MAGICS = (b"Rar!\x1a\x07\x00", b"Rar!\x1a\x07\x01\x00")


def fingerprint_of(path: Path) -> Fingerprint | None:
    """(size, mtime_ns, inode) of a regular file, or None if it is gone or not a file."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def signature_of(path: Path) -> Signature | None:
    fp = fingerprint_of(path)
    return None if fp is None else (fp[0], fp[1])


def opens_as_archive(path: Path) -> bool:
    """True if the file starts with zip/rar magic bytes and its directory reads completely.

    The format is judged by content, not by extension: a ``.cbz`` that is really a RAR is fine.
    Only the directory is read, never the pages, so this stays cheap on large archives.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
        if head.startswith(_ZIP_MAGICS):
            with zipfile.ZipFile(path) as zf:
                zf.infolist()
            return True
        if head.startswith(_RAR_MAGICS):
            # "strict": a truncated RAR raises instead of listing the entries it could read.
            with rarfile.RarFile(path, errors="strict") as rf:
                return bool(rf.infolist())
    except (OSError, zipfile.BadZipFile, rarfile.Error, EOFError, ValueError):
        return False
    return False


@dataclass(slots=True)
class _Candidate:
    signature: Signature | None
    since: float
    held: bool = False


class StabilityTracker:
    """Candidates waiting to be quiet; owned by one thread (the watcher's scheduler)."""

    def __init__(self, quiet_period: float, clock: Clock = time.monotonic) -> None:
        self.quiet_period = quiet_period
        self._clock = clock
        self._candidates: dict[str, _Candidate] = {}

    def __len__(self) -> int:
        return len(self._candidates)

    def __contains__(self, rel: object) -> bool:
        return rel in self._candidates

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._candidates))

    def add(self, rel: str) -> None:
        """A fresh event for ``rel``: (re)start its quiet period and lift any hold."""
        self._candidates[rel] = _Candidate(signature=None, since=self._clock())

    def discard(self, rel: str) -> None:
        self._candidates.pop(rel, None)

    def hold(self, rel: str) -> None:
        """Stable but not (yet) a readable archive: wait until the file changes again."""
        if rel in self._candidates:
            self._candidates[rel].held = True

    def poll(self, probe: Callable[[str], Signature | None]) -> list[str]:
        """Probe every candidate; return those quiet for the whole period (they stay tracked).

        Vanished files are dropped. Any change in (size, mtime_ns) restarts the period.
        """
        now = self._clock()
        ready: list[str] = []
        for rel, cand in list(self._candidates.items()):
            sig = probe(rel)
            if sig is None:
                del self._candidates[rel]
            elif sig != cand.signature:
                cand.signature, cand.since, cand.held = sig, now, False
            elif not cand.held and now - cand.since >= self.quiet_period:
                ready.append(rel)
        return ready
