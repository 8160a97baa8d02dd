"""Archives written in place whose new bytes are not known to be on disk yet.

An in-place tag write (``cbz_inplace``) returns as soon as its undo record is durable and the new
bytes are written. The archive's own flush, and then the clearing of the record, run just after
on a thread of their own, so a batch job reads its next file while the disk works. A power cut
before that flush is harmless: the record is still there, and recovery puts the old bytes back
or finds the new ones complete.

Until the record is cleared it names the archive by its path, so the archive must not be renamed
before the flush ends (a record that no longer finds its file would be dropped, however torn the
file is). Every rename of a library file (``atomic.rename_no_replace``), every later write to the
same file and every full rewrite of it wait here first. At exit the interpreter waits for every
flush (``atexit``; the flush thread is a daemon, which still runs then).

One long-lived thread does the flushes, in order: starting a thread per write costs up to half a
millisecond on a machine that was idle, as much as the rest of a small write. This module knows
nothing of zip files or journals (``atomic`` imports it).
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger(__name__)

# Flushes allowed to wait at once; one more write waits for a place. Each holds a journal slot,
# and a slow disk must not let writes run so far ahead that the slots run out.
MAX_UNFLUSHED = 8

_Flush = tuple[Path, Callable[[], None], threading.Event]


class _Flusher:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: dict[Path, threading.Event] = {}  # one per archive: a write waits for the last
        self.places = threading.BoundedSemaphore(MAX_UNFLUSHED)
        self.queue: queue.SimpleQueue[_Flush] = queue.SimpleQueue()
        self.thread: threading.Thread | None = None

    def submit(self, path: Path, flush: Callable[[], None]) -> None:
        self.places.acquire()
        done = threading.Event()
        with self.lock:
            self.pending[path] = done
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="archive flush", daemon=True)
                self.thread.start()
        self.queue.put((path, flush, done))

    def _run(self) -> None:
        while True:
            path, flush, done = self.queue.get()
            try:
                flush()
            except BaseException:  # the flush logs what it knows; this is for what it did not foresee
                logger.exception("flushing the in-place write to %s failed", path)
            finally:
                with self.lock:
                    if self.pending.get(path) is done:
                        del self.pending[path]
                done.set()
                self.places.release()


_flusher = _Flusher()


def flush_later(path: Path, flush: Callable[[], None]) -> None:
    """Run ``flush`` for ``path`` (already resolved) on the flush thread; ``wait(path)`` waits for it."""
    _flusher.submit(path, flush)


def wait(path: Path | str) -> None:
    """Return once no flush of ``path`` is under way (at once, usually)."""
    if not _flusher.pending:  # the common case costs no lock and no path resolution
        return
    with _flusher.lock:
        done = _flusher.pending.get(Path(path).resolve())
    if done is not None and threading.current_thread() is not _flusher.thread:
        done.wait()


def wait_all() -> None:
    """Return once every flush handed over so far has ended (at exit, and in tests)."""
    with _flusher.lock:
        events = list(_flusher.pending.values())
    for done in events:
        done.wait()


def _forget_after_fork() -> None:
    """A child process has no flush thread, and none of its parent's flushes to wait for."""
    global _flusher  # noqa: PLW0603 - replaced in the child only
    _flusher = _Flusher()


atexit.register(wait_all)
os.register_at_fork(after_in_child=_forget_after_fork)
