"""Translate watchdog's events into our immutable records, as cheaply as possible.

This runs on the observer's thread, so it does no I/O and no decisions: it relativizes the
paths, stamps a monotonic time and hands the record on. Everything else happens downstream.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)

from comicmaintainer.watcher.events import Created, Deleted, Event, Modified, Moved


def relative(root: Path, path: str | bytes) -> str | None:
    """The POSIX path of ``path`` relative to ``root`` ("" for the root), None if outside."""
    rel = os.path.relpath(os.fsdecode(path), root)
    if rel == ".":
        return ""
    if rel == ".." or rel.startswith("../") or os.path.isabs(rel):
        return None
    return PurePosixPath(*Path(rel).parts).as_posix()


def to_record(root: Path, event: FileSystemEvent, at: float) -> Event | None:
    """One watchdog event as one record, or None for events that tell us nothing we use."""
    src = relative(root, event.src_path)
    if isinstance(event, FileMovedEvent | DirMovedEvent):
        dest = relative(root, event.dest_path)
        if src is None and dest is None:
            return None
        if src is None:  # arrived from outside the library
            return Created(dest or "", is_dir=event.is_directory, at=at)
        if dest is None:  # left the library
            return Deleted(src, is_dir=event.is_directory, at=at)
        return Moved(src, dest, is_dir=event.is_directory, at=at)
    if src is None:
        return None
    if isinstance(event, FileCreatedEvent | DirCreatedEvent):
        return Created(src, is_dir=event.is_directory, at=at)
    if isinstance(event, FileDeletedEvent | DirDeletedEvent):
        return Deleted(src, is_dir=event.is_directory, at=at)
    # A closed-after-write is the best "content changed" signal inotify gives; directory
    # modifications only echo changes we already receive for the entries themselves.
    if isinstance(event, FileModifiedEvent | FileClosedEvent):
        return Modified(src, at=at)
    return None


class RecordingHandler(FileSystemEventHandler):
    """Pushes each relevant event, as a record, to ``sink`` while ``accepting()`` is true."""

    def __init__(self, root: Path, sink: Callable[[Event], None], accepting: Callable[[], bool]) -> None:
        self._root = root
        self._sink = sink
        self._accepting = accepting

    def dispatch(self, event: FileSystemEvent) -> None:
        if not self._accepting():
            return
        record = to_record(self._root, event, time.monotonic())
        if record is not None:
            self._sink(record)
