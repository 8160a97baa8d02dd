"""One client's subscription to the bus: an async iterator over the shared ring, and the loop hub
that wakes the subscriptions of one event loop with a single call per burst of events."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Protocol

from comicmaintainer.jobs.coalesce import Line
from comicmaintainer.jobs.event_types import Envelope, Resync


class BusSide(Protocol):
    """What a subscription reads of the bus that made it (``jobs.events.EventBus`` is one); a
    protocol, so that this module need not import the bus that imports it."""

    job_update_interval: float
    batch_size: int
    clock: Callable[[], float]
    _last_id: int

    @property
    def last_id(self) -> int: ...

    def _read(self, after: int, limit: int) -> list[Envelope] | None: ...

    def _forget(self, subscription: Subscription) -> None: ...


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


class Subscription:
    """One client's view of the bus: an async iterator of `Envelope`s. Use it on its own loop only."""

    def __init__(self, bus: BusSide, hub: _LoopHub, cursor: int, resync_reason: str | None) -> None:
        self._bus = bus
        self._hub = hub
        self._cursor = cursor
        # A flag and one bare future instead of an asyncio.Event: the Event's loop check and waiter
        # list cost about 7% of delivering one event to 500 clients, and only one task ever waits here.
        self._ready = False
        self._waiter: asyncio.Future[None] | None = None
        self._out: deque[Envelope] = deque()
        self._last_out_id = cursor
        self._line = Line(bus.job_update_interval, self._emit)
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
        return len(self._out) + len(self._line)

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
            if self._line or self._cursor != self._bus._last_id:
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
        self._line.clear()
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
            self._line.admit(envelope, now)
        if batch:
            self._cursor = batch[-1].id
        if self._line:
            next_due = self._line.release(now)
            if next_due is not None:
                self._arm_timer(next_due - now)

    def _emit(self, envelope: Envelope) -> None:
        self._out.append(envelope)
        self._last_out_id = envelope.id

    def _arm_timer(self, delay: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._hub.loop.call_later(max(delay, 0.0), self._notify)

    def _queue_resync(self, reason: str) -> None:
        # Drop the backlog: the client re-fetches state, so older events would only be noise.
        head = self._bus.last_id
        self._out.clear()
        self._line.clear()
        self._cursor = head
        self.resyncs += 1
        self._emit(Envelope(max(head, self._last_out_id), Resync(reason)))
