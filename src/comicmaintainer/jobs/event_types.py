"""The events that travel on the bus (jobs/events.py), and the envelope that gives each its id.

Every event is a frozen dataclass with a ``kind`` (the SSE ``event:`` name); its fields are the JSON
``data:``. Publishers build them; nothing here knows about subscribers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal

from comicmaintainer.library.changes import ChangeKind, FileChange
from comicmaintainer.library.store import FINAL_JOB_STATUSES, ItemStatus, JobStatus

EVENT_SOURCES = frozenset({"watcher", "job", "cli", "web"})

EventSource = Literal["watcher", "job", "cli", "web"]


@dataclass(frozen=True, slots=True)
class JobUpdated:
    """A job's counters and position; a full snapshot, so a newer one replaces an older one."""

    kind: ClassVar[str] = "job_updated"
    job_id: int
    status: JobStatus
    processed: int
    total: int
    succeeded: int
    failed: int
    skipped: int
    percentage: float
    current_file: str | None = None
    stage: str | None = None
    eta_seconds: float | None = None

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_JOB_STATUSES


@dataclass(frozen=True, slots=True)
class JobItem:
    """One item of a job reached an outcome (done, failed, skipped, cancelled)."""

    kind: ClassVar[str] = "job_item"
    job_id: int
    item_id: int
    path: str
    outcome: ItemStatus
    error: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class FileChanged:
    """A row of the file list changed; `row` is the new row (None when deleted, or for a folder).

    The library's `FileChange` record, forwarded as it is, with who made it and the row the list
    shows now: `path`, `change` and `old_path` are the record's own fields.
    """

    kind: ClassVar[str] = "file_changed"
    path: str
    change: ChangeKind
    source: EventSource
    row: dict[str, Any] | None = None
    old_path: str | None = None

    def __post_init__(self) -> None:
        # Checked here so a mistake in a publisher fails at its call site, not in every browser.
        FileChange(self.change, self.path, self.old_path)
        if self.source not in EVENT_SOURCES:
            raise ValueError(f"unknown event source {self.source!r}")

    @classmethod
    def of(cls, change: FileChange, source: EventSource, row: dict[str, Any] | None = None) -> FileChanged:
        return cls(change.path, change.kind, source, row, change.old_path)


@dataclass(frozen=True, slots=True)
class WatcherStatus:
    """The watcher's state ("running", "stopped", "error", ...) and free-form details."""

    kind: ClassVar[str] = "watcher_status"
    state: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SettingsChanged:
    """Settings were saved; `changes` maps each changed key to its new value."""

    kind: ClassVar[str] = "settings_changed"
    changes: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Resync:
    """The client missed events it cannot be given; it must re-fetch the state it shows."""

    kind: ClassVar[str] = "resync"
    reason: str = ""


Event = JobUpdated | JobItem | FileChanged | WatcherStatus | SettingsChanged | Resync
EVENT_TYPES: tuple[type, ...] = (JobUpdated, JobItem, FileChanged, WatcherStatus, SettingsChanged, Resync)


def event_data(event: Event) -> dict[str, Any]:
    """The event's fields as a JSON-ready mapping (shallow; nested dicts are shared, not copied)."""
    return {f.name: getattr(event, f.name) for f in fields(event)}


class Envelope:
    """An event with its stream id. The JSON text is computed once and shared by every client."""

    __slots__ = ("id", "event", "_data", "_encoded")

    def __init__(self, event_id: int, event: Event) -> None:
        self.id = event_id
        self.event = event
        self._data: str | None = None
        self._encoded: bytes | None = None

    @property
    def kind(self) -> str:
        return self.event.kind

    @property
    def data(self) -> str:
        if self._data is None:
            # default=str: an odd value (a Path, a datetime) must not break the stream for everyone.
            self._data = json.dumps(event_data(self.event), separators=(",", ":"), default=str)
        return self._data

    def encoded(self, encode: Callable[[Envelope], bytes]) -> bytes:
        """`encode(self)`, computed by the first client and shared by the rest (one wire format)."""
        if self._encoded is None:
            self._encoded = encode(self)
        return self._encoded

    def __repr__(self) -> str:
        return f"Envelope({self.id}, {self.event!r})"
