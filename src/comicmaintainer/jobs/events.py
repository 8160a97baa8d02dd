"""Typed events and the in-process bus that carries them to live clients.

Publishers (job workers, the watcher, the CLI, web handlers) call `EventBus.publish` from any thread.
Subscribers are asyncio tasks, one per open Server-Sent Events stream.

How it stays cheap and bounded:

* Every published event gets the next integer id and goes into one shared ring buffer of
  `buffer_size` slots. Nothing is copied per subscriber: a subscription is a cursor into that ring.
  A subscriber's backlog is therefore bounded by the ring; when the ring laps it (a stalled or
  very slow client), its backlog is dropped and it receives a `Resync` telling it to re-fetch state.
* `publish` takes a lock for a few assignments and never waits on subscribers. It wakes each
  event loop that has subscribers with at most one pending `call_soon_threadsafe` at a time, so a
  burst of events costs one wake-up per loop, not one per event or per client.
* Each subscription coalesces `JobUpdated` per job to at most one every `job_update_interval`
  seconds (keeping the latest state); a job's final state and every `JobItem` are never dropped.
* The JSON of an event, and its wire bytes (`Envelope.encoded`), are made once, on first delivery,
  and shared by all clients.

Ids restart at 1 with the process; a client that presents an id the bus has never issued
(it talks to a restarted server) is told to resync.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal

from comicmaintainer.library.store import FINAL_JOB_STATUSES, ItemStatus, JobStatus

FILE_CHANGES = frozenset({"processed", "renamed", "deleted", "added", "updated"})
EVENT_SOURCES = frozenset({"watcher", "job", "cli", "web"})

FileChange = Literal["processed", "renamed", "deleted", "added", "updated"]
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
    """A row of the file list changed; `row` is the new row (None when deleted)."""

    kind: ClassVar[str] = "file_changed"
    path: str
    change: FileChange
    source: EventSource
    row: dict[str, Any] | None = None
    old_path: str | None = None

    def __post_init__(self) -> None:
        # Checked here so a typo in a publisher fails at its call site, not in every browser.
        if self.change not in FILE_CHANGES:
            raise ValueError(f"unknown file change {self.change!r}")
        if self.source not in EVENT_SOURCES:
            raise ValueError(f"unknown event source {self.source!r}")
        if self.change == "renamed" and not self.old_path:
            raise ValueError("a renamed file event needs old_path")


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

    def __init__(self, event_id: int, event: Event, data: str | None = None) -> None:
        self.id = event_id
        self.event = event
        self._data = data
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

    def with_id(self, event_id: int) -> Envelope:
        return Envelope(event_id, self.event, self._data)

    def __repr__(self) -> str:
        return f"Envelope({self.id}, {self.event!r})"


class _LoopHub:
    """The subscriptions living on one event loop, and that loop's single pending wake-up."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.subscriptions: set[Subscription] = set()
        self._wake_pending = False

    def poke(self) -> None:
        """Called by publishers on any thread: schedule one wake-up unless one is already queued."""
        if self._wake_pending:
            return
        self._wake_pending = True
        try:
            self.loop.call_soon_threadsafe(self._wake)
        except RuntimeError:  # the loop is closed; its subscriptions are gone with it
            self._wake_pending = False

    def _wake(self) -> None:
        # Reset first: a publish that lands while we notify schedules a fresh wake-up.
        self._wake_pending = False
        for subscription in self.subscriptions:
            subscription._notify()


class EventBus:
    """Thread-safe publish, asyncio subscribe, bounded replay. See the module docstring."""

    def __init__(
        self,
        *,
        buffer_size: int = 2000,
        job_update_interval: float = 0.05,
        batch_size: int = 256,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if buffer_size < 1 or batch_size < 1 or job_update_interval < 0:
            raise ValueError("buffer_size and batch_size must be >= 1, job_update_interval >= 0")
        self.buffer_size = buffer_size
        self.job_update_interval = job_update_interval
        self.batch_size = batch_size
        self.clock = clock
        self._lock = threading.Lock()
        self._ring: list[Envelope | None] = [None] * buffer_size
        self._last_id = 0
        self._hubs: dict[asyncio.AbstractEventLoop, _LoopHub] = {}
        self._hub_snapshot: tuple[_LoopHub, ...] = ()
        self._subscriber_count = 0

    @property
    def last_id(self) -> int:
        """The id of the newest published event (0 before the first)."""
        return self._last_id

    @property
    def subscriber_count(self) -> int:
        return self._subscriber_count

    def subscriptions(self) -> tuple[Subscription, ...]:
        """A snapshot of the open subscriptions (for health pages and tests)."""
        with self._lock:
            return tuple(s for hub in self._hubs.values() for s in hub.subscriptions)

    def publish(self, event: Event) -> int:
        """Record `event` and wake subscribers. Never blocks on them; safe from any thread."""
        if not isinstance(event, EVENT_TYPES):
            raise TypeError(f"not an event: {event!r}")
        with self._lock:
            event_id = self._last_id + 1
            # Slot before id: a lock-free reader that sees the new id also sees its slot.
            self._ring[event_id % self.buffer_size] = Envelope(event_id, event)
            self._last_id = event_id
            hubs = self._hub_snapshot
        for hub in hubs:
            hub.poke()
        return event_id

    def subscribe(self, last_event_id: int | None = None) -> Subscription:
        """Open a subscription on the running event loop.

        `None` starts with the next event. An id replays every buffered event after it; an id the
        buffer no longer holds (or never issued) starts with a `Resync` and then live events.
        """
        loop = asyncio.get_running_loop()
        with self._lock:
            head = self._last_id
            cursor, reason = self._start_point(last_event_id, head)
            hub = self._hubs.get(loop)
            if hub is None:
                hub = self._hubs[loop] = _LoopHub(loop)
                self._hub_snapshot = tuple(self._hubs.values())
            subscription = Subscription(self, hub, cursor, reason)
            hub.subscriptions.add(subscription)
            self._subscriber_count += 1
        return subscription

    def close(self) -> None:
        """End every subscription (server shutdown): their iterators stop."""
        for subscription in self.subscriptions():
            loop = subscription._hub.loop
            try:
                loop.call_soon_threadsafe(subscription.close)
            except RuntimeError:  # loop already closed
                self._forget(subscription)

    def _start_point(self, last_event_id: int | None, head: int) -> tuple[int, str | None]:
        if last_event_id is None:
            return head, None
        if last_event_id > head or last_event_id < 0:
            return head, "unknown event id"
        if head - last_event_id > self.buffer_size:
            return head, "too far behind"
        return last_event_id, None

    def _forget(self, subscription: Subscription) -> None:
        with self._lock:
            hub = subscription._hub
            if subscription not in hub.subscriptions:
                return
            hub.subscriptions.discard(subscription)
            self._subscriber_count -= 1
            if not hub.subscriptions:
                # An idle loop costs publishers nothing.
                self._hubs.pop(hub.loop, None)
                self._hub_snapshot = tuple(self._hubs.values())

    def _read(self, after: int, limit: int) -> list[Envelope] | None:
        """Events with ids after `after` (at most `limit`), or None if the ring has lapped `after`."""
        head = self._last_id
        if head - after > self.buffer_size:
            return None
        ring, size = self._ring, self.buffer_size
        batch: list[Envelope] = []
        for event_id in range(after + 1, min(head, after + limit) + 1):
            envelope = ring[event_id % size]
            if envelope is None or envelope.id != event_id:  # overwritten while we read
                return None
            batch.append(envelope)
        return batch


class Subscription:
    """One client's view of the bus: an async iterator of `Envelope`s. Use it on its own loop only."""

    def __init__(self, bus: EventBus, hub: _LoopHub, cursor: int, resync_reason: str | None) -> None:
        self._bus = bus
        self._hub = hub
        self._cursor = cursor
        # A flag and one bare future instead of an asyncio.Event: the Event's loop check and waiter
        # list cost about 7% of delivering one event to 500 clients, and only one task ever waits here.
        self._ready = False
        self._waiter: asyncio.Future[None] | None = None
        self._out: deque[Envelope] = deque()
        self._last_out_id = cursor
        self._held: dict[int, Envelope] = {}  # job id -> latest coalesced JobUpdated not yet sent
        self._job_sent_at: dict[int, float] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False
        self.resyncs = 0
        if resync_reason is not None:
            self._queue_resync(resync_reason)

    @property
    def lag(self) -> int:
        """How many published events this client has not yet taken from the ring."""
        return self._bus.last_id - self._cursor

    @property
    def buffered(self) -> int:
        """Envelopes this subscription itself holds (its only per-client memory)."""
        return len(self._out) + len(self._held)

    @property
    def closed(self) -> bool:
        return self._closed

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Envelope:
        while not self._closed:
            if self._out:
                return self._out.popleft()
            self._ready = False
            # Pull only when there is something to take: a client that has just sent an event would
            # otherwise read the ring once more for nothing before every wait (500 clients, 500 reads).
            if self._held or self._cursor != self._bus._last_id:
                self._pull()
            if not self._out:
                await self._wait()
        raise StopAsyncIteration

    async def next_batch(self) -> list[Envelope]:
        """Everything ready now (at least one envelope), or [] once closed.

        Writers send a batch as one chunk: under load that turns many small socket writes into one,
        which is what keeps a busy job from lapping its watchers.
        """
        try:
            first = await self.__anext__()
        except StopAsyncIteration:
            return []
        batch = [first, *self._out]
        self._out.clear()
        return batch

    def close(self) -> None:
        """Stop the iterator and release the subscription. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._out.clear()
        self._held.clear()
        if self._timer is not None:
            self._timer.cancel()
        self._notify()
        self._bus._forget(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _notify(self) -> None:
        self._ready = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait(self) -> None:
        if self._ready:
            return
        waiter = self._waiter = self._hub.loop.create_future()
        try:
            await waiter
        finally:
            self._waiter = None

    def _pull(self) -> None:
        batch = self._bus._read(self._cursor, self._bus.batch_size)
        if batch is None:
            self._queue_resync("client fell behind")
            return
        now = self._bus.clock()
        for envelope in batch:
            self._admit(envelope, now)
        if batch:
            self._cursor = batch[-1].id
        if self._held:
            self._flush_due(now)

    def _emit(self, envelope: Envelope) -> None:
        self._out.append(envelope)
        self._last_out_id = max(self._last_out_id, envelope.id)

    def _admit(self, envelope: Envelope, now: float) -> None:
        event = envelope.event
        if not isinstance(event, JobUpdated):
            self._emit(envelope)
            return
        job = event.job_id
        if event.is_final:
            # The end of a job always goes out, and supersedes any held progress.
            self._held.pop(job, None)
            self._job_sent_at.pop(job, None)
            self._emit(envelope)
            return
        sent_at = self._job_sent_at.get(job)
        if job not in self._held and (sent_at is None or now - sent_at >= self._bus.job_update_interval):
            self._job_sent_at[job] = now
            self._emit(envelope)
        else:
            self._held[job] = envelope

    def _flush_due(self, now: float) -> None:
        interval = self._bus.job_update_interval
        next_due: float | None = None
        for job, envelope in list(self._held.items()):
            due = self._job_sent_at.get(job, now) + interval
            if due <= now:
                # A held snapshot goes out after later events; it takes the newest id sent so far so
                # ids never go backwards and Last-Event-ID stays a safe resume point.
                del self._held[job]
                self._job_sent_at[job] = now
                self._emit(envelope.with_id(max(envelope.id, self._last_out_id)))
            else:
                next_due = due if next_due is None else min(next_due, due)
        if next_due is not None:
            self._arm_timer(next_due - now)

    def _arm_timer(self, delay: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._hub.loop.call_later(max(delay, 0.0), self._notify)

    def _queue_resync(self, reason: str) -> None:
        # Drop the backlog: the client re-fetches state, so older events would only be noise.
        head = self._bus.last_id
        self._out.clear()
        self._held.clear()
        self._job_sent_at.clear()
        self._cursor = head
        self.resyncs += 1
        self._emit(Envelope(max(head, self._last_out_id), Resync(reason)))
