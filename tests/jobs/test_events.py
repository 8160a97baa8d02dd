"""EventBus: ids, replay, resync, bounded backlog, coalescing, thread-safe publishing."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from comicmaintainer.jobs.events import (
    Envelope,
    EventBus,
    FileChanged,
    JobItem,
    JobUpdated,
    Resync,
    SettingsChanged,
    Subscription,
    WatcherStatus,
)
from comicmaintainer.library.changes import ChangeKind, FileChange

T = TypeVar("T")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await coro_fn()

    return asyncio.run(main())


def update(job: int, processed: int, status: str = "running", failed: int = 0) -> JobUpdated:
    return JobUpdated(job, status, processed, 100, processed - failed, failed, 0, float(processed))


def item(job: int, n: int, outcome: str = "done") -> JobItem:
    return JobItem(job, n, f"Series/{n}.cbz", outcome, "bad zip" if outcome == "failed" else None)


async def take(subscription: Subscription, count: int, timeout: float = 2.0) -> list[Envelope]:
    return [await asyncio.wait_for(anext(subscription), timeout) for _ in range(count)]


async def nothing_more(subscription: Subscription, wait: float = 0.05) -> bool:
    try:
        await asyncio.wait_for(anext(subscription), wait)
    except TimeoutError:
        return True
    return False


def test_ids_are_monotonic_and_json_is_the_fields() -> None:
    bus = EventBus()
    ids = [
        bus.publish(update(7, 3)),
        bus.publish(FileChanged.of(FileChange.renamed("B/old.cbz", "B/new.cbz"), "job", {"name": "new.cbz"})),
        bus.publish(WatcherStatus("running", {"pending": 2})),
        bus.publish(SettingsChanged({"issue_padding": 3})),
    ]
    assert ids == [1, 2, 3, 4]
    assert bus.last_id == 4

    async def scenario() -> list[Envelope]:
        with bus.subscribe(0) as sub:
            return await take(sub, 4)

    got = run(scenario)
    assert [e.kind for e in got] == ["job_updated", "file_changed", "watcher_status", "settings_changed"]
    assert json.loads(got[0].data) == {
        "job_id": 7, "status": "running", "processed": 3, "total": 100, "succeeded": 3, "failed": 0,
        "skipped": 0, "percentage": 3.0, "current_file": None, "stage": None, "eta_seconds": None,
    }  # fmt: skip
    assert json.loads(got[1].data) == {
        "path": "B/new.cbz", "change": "renamed", "source": "job", "row": {"name": "new.cbz"},
        "old_path": "B/old.cbz",
    }  # fmt: skip
    assert json.loads(got[2].data) == {"state": "running", "detail": {"pending": 2}}
    assert json.loads(got[3].data) == {"changes": {"issue_padding": 3}}


def test_bad_events_are_refused_at_the_publisher() -> None:
    with pytest.raises(ValueError, match="old_path"):
        FileChanged("a.cbz", ChangeKind.RENAMED, "job")
    with pytest.raises(TypeError, match="ChangeKind"):
        FileChanged("a.cbz", "folder_moved", "job")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="source"):
        FileChanged.of(FileChange.deleted("a.cbz"), "robot")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        EventBus().publish({"kind": "job_updated"})  # type: ignore[arg-type]


def test_new_subscriber_gets_only_live_events_and_replay_is_exact() -> None:
    bus = EventBus()
    for n in range(10):
        bus.publish(item(1, n))

    async def scenario() -> tuple[list[int], list[int]]:
        with bus.subscribe() as live, bus.subscribe(4) as resumed:
            bus.publish(item(1, 10))
            live_ids = [e.id for e in await take(live, 1)]
            resumed_ids = [e.id for e in await take(resumed, 7)]
            assert await nothing_more(live) and await nothing_more(resumed)
            return live_ids, resumed_ids

    assert run(scenario) == ([11], [5, 6, 7, 8, 9, 10, 11])


@pytest.mark.parametrize("last_id", [3, 99])
def test_an_id_outside_the_buffer_starts_with_resync(last_id: int) -> None:
    bus = EventBus(buffer_size=8)
    for n in range(20):
        bus.publish(item(1, n))

    async def scenario() -> list[Envelope]:
        with bus.subscribe(last_id) as sub:
            bus.publish(item(1, 20))
            return await take(sub, 2)

    first, second = run(scenario)
    assert isinstance(first.event, Resync) and first.id == 20
    assert second.id == 21


def test_oldest_buffered_id_still_replays_without_resync() -> None:
    bus = EventBus(buffer_size=8)
    for n in range(20):
        bus.publish(item(1, n))

    async def scenario() -> list[int]:
        with bus.subscribe(12) as sub:
            return [e.id for e in await take(sub, 8)]

    assert run(scenario) == list(range(13, 21))


def test_a_stalled_subscriber_is_bounded_and_resynced_when_lapped() -> None:
    bus = EventBus(buffer_size=100, batch_size=10)

    async def scenario() -> None:
        with bus.subscribe() as stalled:
            bus.publish(item(1, 0))
            await take(stalled, 1)  # it read a little, then stopped
            for n in range(1, 50_001):
                bus.publish(item(1, n))
            assert stalled.buffered <= 10
            assert stalled.lag == 50_000
            (resync,) = await take(stalled, 1)
            assert isinstance(resync.event, Resync) and resync.id == 50_001
            bus.publish(item(1, 50_001))
            assert [e.id for e in await take(stalled, 1)] == [50_002]

    run(scenario)


def test_job_updates_are_coalesced_but_final_state_and_failures_always_arrive() -> None:
    clock = FakeClock()
    bus = EventBus(job_update_interval=0.05, clock=clock)

    async def scenario() -> list[Envelope]:
        with bus.subscribe() as sub:
            for n in range(1, 101):
                bus.publish(update(1, n, failed=n // 10))
                if n % 10 == 0:
                    bus.publish(item(1, n, "failed"))
            bus.publish(update(1, 100, "completed", failed=10))
            got = await take(sub, 12)
            assert await nothing_more(sub)
            return got

    got = run(scenario)
    kinds = [e.kind for e in got]
    assert kinds.count("job_item") == 10  # every failure
    updates = [e for e in got if isinstance(e.event, JobUpdated)]
    assert len(updates) == 2  # the first progress snapshot, then straight to the final state
    assert updates[-1].event.status == "completed" and updates[-1].event.failed == 10
    assert [e.id for e in got] == sorted(e.id for e in got)


def test_held_progress_keeps_its_id_and_place_and_later_events_wait_behind_it() -> None:
    bus = EventBus(job_update_interval=0.05)

    async def scenario() -> list[Envelope]:
        with bus.subscribe() as sub:
            for n in range(1, 6):
                bus.publish(update(1, n))
            bus.publish(item(1, 5))
            first = await take(sub, 1)
            return first + await take(sub, 2, timeout=1.0)

    first, flushed, item_event = run(scenario)
    assert first.event == update(1, 1)
    assert (flushed.id, flushed.event) == (5, update(1, 5))  # its own id: no id is sent twice
    assert item_event.id == 6


def test_coalescing_is_per_job() -> None:
    clock = FakeClock()
    bus = EventBus(clock=clock)

    async def scenario() -> list[tuple[int, int]]:
        with bus.subscribe() as sub:
            bus.publish(update(1, 1))
            bus.publish(update(2, 1))
            bus.publish(update(1, 2))
            got = await take(sub, 2)
            clock.now += 0.06
            got += await take(sub, 1)
            return [(e.event.job_id, e.event.processed) for e in got if isinstance(e.event, JobUpdated)]

    assert run(scenario) == [(1, 1), (2, 1), (1, 2)]


def test_publish_from_many_threads_gives_unique_ids_and_wakes_the_loop() -> None:
    bus = EventBus(buffer_size=10_000)

    async def scenario() -> list[int]:
        with bus.subscribe() as sub:

            def worker(job: int) -> None:
                for n in range(500):
                    bus.publish(item(job, n))

            threads = [threading.Thread(target=worker, args=(job,)) for job in range(8)]
            for t in threads:
                t.start()
            got = await take(sub, 4000, timeout=5.0)
            for t in threads:
                t.join()
            return [e.id for e in got]

    assert run(scenario) == list(range(1, 4001))


def test_close_frees_subscribers_and_ends_iteration() -> None:
    bus = EventBus()

    async def scenario() -> None:
        a, b = bus.subscribe(), bus.subscribe()
        assert bus.subscriber_count == 2
        a.close()
        a.close()
        assert bus.subscriber_count == 1
        with pytest.raises(StopAsyncIteration):
            await anext(a)
        waiting = asyncio.ensure_future(anext(b))
        await asyncio.sleep(0)
        bus.close()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(waiting, 1.0)
        assert bus.subscriber_count == 0 and bus.subscriptions() == ()

    run(scenario)


def test_an_envelope_is_encoded_once() -> None:
    calls: list[int] = []

    def encode(envelope: Envelope) -> bytes:
        calls.append(envelope.id)
        return f"{envelope.id}:{envelope.data}".encode()

    envelope = Envelope(4, SettingsChanged({"issue_padding": 3}))
    first, again = envelope.encoded(encode), envelope.encoded(encode)
    assert first is again and first == b'4:{"changes":{"issue_padding":3}}'
    assert calls == [4]
