"""Archives written in place whose new bytes are not known to be on disk yet.

An in-place tag write (``cbz_inplace``) returns as soon as its undo record is durable and the new
bytes are written. The archive's own flush, and then the clearing of the record, run just after
on a thread of their own, so a batch job reads its next file while the disk works. A power cut
before that flush is harmless: the record is still there, and recovery puts the old bytes back
or finds the new ones complete.

Until the record is cleared it names the archive by its path, so the archive must not be renamed
before the flush ends (a record that no longer finds its file would be dropped, however torn the
file is). Every rename of a library file (``atomic.rename_no_replace``), every later write to the
same file and every full rewrite of it wait here first. A flush thread is not a daemon: the
interpreter lets it finish before exiting.

This module knows nothing of zip files or journals (``atomic`` imports it); it only keeps the
threads, one per archive at most, since a write to a file waits for that file's flush first.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger(__name__)

# Flushes allowed to be under way at once; one more write waits for a place. Each holds a journal
# slot, and a slow disk must not let writes run so far ahead that the slots run out.
MAX_UNFLUSHED = 8

_lock = threading.Lock()
_flushing: dict[Path, threading.Thread] = {}
_places = threading.BoundedSemaphore(MAX_UNFLUSHED)


def flush_later(path: Path, flush: Callable[[], None]) -> None:
    """Run ``flush`` for ``path`` (already resolved) on its own thread; ``wait(path)`` joins it."""
    _places.acquire()
    thread = threading.Thread(target=_run, args=(path, flush), name=f"flush {path.name}")
    with _lock:
        _flushing[path] = thread
    try:
        thread.start()
    except BaseException:
        _done(path, thread)
        raise


def wait(path: Path | str) -> None:
    """Return once no flush of ``path`` is under way (at once, usually)."""
    if not _flushing:  # the common case costs no lock and no path resolution
        return
    with _lock:
        thread = _flushing.get(Path(path).resolve())
    if thread is not None and thread is not threading.current_thread():
        thread.join()


def wait_all() -> None:
    """Return once every flush started so far has ended (at shutdown, and in tests)."""
    with _lock:
        threads = list(_flushing.values())
    for thread in threads:
        thread.join()


def _run(path: Path, flush: Callable[[], None]) -> None:
    try:
        flush()
    except BaseException:  # the flush logs what it knows; this is for what it did not foresee
        logger.exception("flushing the in-place write to %s failed", path)
    finally:
        _done(path, threading.current_thread())


def _done(path: Path, thread: threading.Thread) -> None:
    with _lock:
        if _flushing.get(path) is thread:
            del _flushing[path]
    _places.release()


def _forget_after_fork() -> None:
    """A child process has none of its parent's threads; its copies of their entries would hang."""
    global _lock, _places  # noqa: PLW0603 - reset in the child only
    _lock = threading.Lock()
    _flushing.clear()
    _places = threading.BoundedSemaphore(MAX_UNFLUSHED)


os.register_at_fork(after_in_child=_forget_after_fork)
