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
  Every client receives strictly increasing ids, each one an exact resume point (jobs/coalesce.py).
* The JSON of an event, and its wire bytes (`Envelope.encoded`), are made once, on first delivery,
  and shared by all clients.

Ids restart at 1 with the process; a client that presents an id the bus has never issued
(it talks to a restarted server) is told to resync.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

# The events are defined in event_types.py; they are imported from here, with the bus that carries them.
from comicmaintainer.jobs.event_types import (
    EVENT_SOURCES,
    EVENT_TYPES,
    FINAL_JOB_STATUSES,
    Envelope,
    Event,
    EventSource,
    FileChanged,
    JobItem,
    JobUpdated,
    Resync,
    SettingsChanged,
    WatcherStatus,
    event_data,
)
from comicmaintainer.jobs.subscription import Subscription, _LoopHub

__all__ = [
    "EVENT_SOURCES", "EVENT_TYPES", "FINAL_JOB_STATUSES", "Envelope", "Event", "EventBus", "EventSource",
    "FileChanged", "JobItem", "JobUpdated", "Resync", "SettingsChanged", "Subscription", "WatcherStatus",
    "event_data",
]  # fmt: skip


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
