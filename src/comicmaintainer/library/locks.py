"""Per-path locks: the CLI, the watcher and job workers never work on the same file at once.

(And ``LibraryPresence``: which processes are working on the library, for start-up recovery.)

One ``PathLocks`` is shared by everything in a process. A lock exists only while someone holds or
waits for it, so a library of a million files does not leave a million locks behind.
Locks are re-entrant for the thread that holds them (``process`` may take a path its caller
already holds, e.g. inside ``hold_many`` for a rename).
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class _Entry:
    lock: threading.RLock = field(default_factory=threading.RLock)
    users: int = 0  # holders plus waiters; the entry is dropped when this falls to zero


class PathLocks:
    """One lock per relative path, created on demand and forgotten when unused. Thread-safe."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def __len__(self) -> int:
        """How many paths are currently held or waited for."""
        with self._guard:
            return len(self._entries)

    @contextmanager
    def hold(self, rel_path: str, timeout: float | None = None) -> Iterator[None]:
        """Block until ``rel_path`` is free, hold it for the ``with`` body.

        With ``timeout`` (seconds), raise ``TimeoutError`` instead of waiting longer.
        """
        entry = self._checkout(rel_path)
        try:
            if not entry.lock.acquire(timeout=-1 if timeout is None else timeout):
                raise TimeoutError(f"{rel_path} is busy")
            try:
                yield
            finally:
                entry.lock.release()
        finally:
            self._checkin(rel_path, entry)

    @contextmanager
    def try_hold(self, rel_path: str) -> Iterator[bool]:
        """Hold ``rel_path`` if it is free right now; yields whether it was taken."""
        entry = self._checkout(rel_path)
        try:
            taken = entry.lock.acquire(blocking=False)
            try:
                yield taken
            finally:
                if taken:
                    entry.lock.release()
        finally:
            self._checkin(rel_path, entry)

    @contextmanager
    def hold_many(self, rel_paths: Iterable[str]) -> Iterator[None]:
        """Hold several paths; always taken in sorted order so two callers cannot deadlock."""
        with ExitStack() as stack:
            for rel_path in sorted(set(rel_paths)):
                stack.enter_context(self.hold(rel_path))
            yield

    def _checkout(self, rel_path: str) -> _Entry:
        with self._guard:
            entry = self._entries.get(rel_path)
            if entry is None:
                entry = self._entries[rel_path] = _Entry()
            entry.users += 1
            return entry

    def _checkin(self, rel_path: str, entry: _Entry) -> None:
        with self._guard:
            entry.users -= 1
            if entry.users == 0:
                del self._entries[rel_path]


class LibraryPresence:
    """Says whether another process (the server, a CLI run) is changing the same library right now.

    Every such process holds a shared ``flock`` on one file beside the database for as long as it
    runs; the kernel drops it when the process ends, however it ends. Start-up recovery settles the
    history actions left *pending* only when it can take that lock alone: a pending action of a
    process still running is a change under way, not one a crash cut off.
    """

    def __init__(self, lock_file: Path) -> None:
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(
            lock_file, os.O_RDONLY | os.O_CREAT, 0o644
        )  # flock needs no write access

    def alone(self) -> bool:
        """True when no other process holds the library; then this one holds it alone until ``share``."""
        assert self._fd is not None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def share(self) -> None:
        """Hold the library beside the other processes (blocks only while one is recovering)."""
        assert self._fd is not None
        fcntl.flock(self._fd, fcntl.LOCK_SH)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
