"""The event stream against a real uvicorn on loopback, read with a streaming HTTP client."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import APIRouter

from comicmaintainer.jobs.events import (
    EventBus,
    FileChanged,
    JobItem,
    JobUpdated,
    SettingsChanged,
    WatcherStatus,
)
from comicmaintainer.library.changes import FileChange
from comicmaintainer.web.app import create_app
from tests.web.conftest import LiveServer

STREAM = "/api/events/stream"


@dataclass
class Message:
    id: int
    event: str
    data: dict[str, Any]


def messages(response: httpx.Response) -> Iterator[Message]:
    """Parse SSE messages (comments such as pings are skipped)."""
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if line == "":
            if fields:
                yield Message(int(fields["id"]), fields["event"], json.loads(fields["data"]))
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            fields[name] = value


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


def publish_in_thread(target: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=target)
    thread.start()
    return thread


def item(n: int, outcome: str = "done", payload: str = "") -> JobItem:
    error = "not a zip archive" if outcome == "failed" else None
    return JobItem(1, n, f"Series/{n:05}.cbz", outcome, error, {"title": payload} if payload else None)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10.0) as c:
        yield c


def test_events_from_a_worker_thread_arrive_with_ids_types_and_json(
    live_server: LiveServer, client: httpx.Client
) -> None:
    bus = EventBus()
    url = live_server(create_app(bus))
    events = [
        JobUpdated(3, "running", 1, 4, 1, 0, 0, 25.0, "A/1.cbz", "tagging", 1.5),
        JobItem(3, 11, "A/1.cbz", "failed", "not a zip archive", {"series": "a"}, None),
        FileChanged.of(FileChange.renamed("A/1.cbz", "A/A - Chapter 0001.cbz"), "watcher", {"size": 10}),
        WatcherStatus("running", {"pending": 0}),
        SettingsChanged({"issue_padding": 3}),
    ]
    ids: list[int] = []
    with client.stream("GET", url + STREAM) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        assert "content-encoding" not in response.headers
        wait_until(lambda: bus.subscriber_count == 1)
        publish_in_thread(lambda: ids.extend(bus.publish(e) for e in events)).join()
        got = [m for _, m in zip(events, messages(response), strict=False)]
    assert [m.id for m in got] == ids == [1, 2, 3, 4, 5]
    assert [m.event for m in got] == [e.kind for e in events]
    assert got[0].data["current_file"] == "A/1.cbz" and got[0].data["eta_seconds"] == 1.5
    assert got[1].data["error"] == "not a zip archive" and got[1].data["before"] == {"series": "a"}
    assert got[2].data["old_path"] == "A/1.cbz" and got[2].data["source"] == "watcher"
    assert got[3].data == {"state": "running", "detail": {"pending": 0}}
    assert got[4].data == {"changes": {"issue_padding": 3}}


@pytest.mark.parametrize(
    ("headers", "query", "first"),
    [
        ({"Last-Event-ID": "4"}, "", 5),
        ({}, "?last_event_id=7", 8),
        ({"Last-Event-ID": "9"}, "?last_event_id=2", 10),
    ],
)
def test_reconnect_gets_exactly_the_missed_events(
    live_server: LiveServer, client: httpx.Client, headers: dict[str, str], query: str, first: int
) -> None:
    bus = EventBus()
    url = live_server(create_app(bus))
    for n in range(10):
        bus.publish(item(n))
    with client.stream("GET", url + STREAM + query, headers=headers) as response:
        stream = messages(response)
        replayed = [next(stream).id for _ in range(first, 11)]
        wait_until(lambda: bus.subscriber_count == 1)
        bus.publish(item(10))
        live = next(stream)
    assert replayed == list(range(first, 11))
    assert live.id == 11 and live.data["item_id"] == 10


def test_a_too_old_id_gets_resync_then_live_events(live_server: LiveServer, client: httpx.Client) -> None:
    bus = EventBus(buffer_size=8)
    url = live_server(create_app(bus))
    for n in range(20):
        bus.publish(item(n))
    with client.stream("GET", url + STREAM, headers={"Last-Event-ID": "3"}) as response:
        stream = messages(response)
        resync = next(stream)
        bus.publish(item(20))
        live = next(stream)
    assert (resync.id, resync.event, resync.data) == (20, "resync", {"reason": "too far behind"})
    assert live.id == 21


def test_heartbeats_keep_an_idle_stream_talking(live_server: LiveServer, client: httpx.Client) -> None:
    url = live_server(create_app(EventBus(), sse_ping_seconds=0.1))
    with client.stream("GET", url + STREAM) as response:
        first = next(response.iter_lines())
    assert first.startswith(": ping")


def test_disconnect_frees_the_subscription(live_server: LiveServer, client: httpx.Client) -> None:
    bus = EventBus()
    url = live_server(create_app(bus))
    with client.stream("GET", url + STREAM), client.stream("GET", url + STREAM):
        wait_until(lambda: bus.subscriber_count == 2)
    wait_until(lambda: bus.subscriber_count == 0)
    assert bus.subscriptions() == ()


def test_progress_is_coalesced_but_final_state_and_every_failure_arrive(
    live_server: LiveServer, client: httpx.Client
) -> None:
    bus = EventBus()
    url = live_server(create_app(bus))
    total, failures = 3000, 0

    def job() -> None:
        nonlocal failures
        for n in range(1, total + 1):
            if n % 100 == 0:
                failures += 1
                bus.publish(item(n, "failed"))
            bus.publish(JobUpdated(1, "running", n, total, n - failures, failures, 0, 100 * n / total))
            if n % 10 == 0:
                time.sleep(0.001)  # ~0.3 s of work: long enough that the 20-per-second limit shows
        bus.publish(JobUpdated(1, "completed", total, total, total - failures, failures, 0, 100.0))

    with client.stream("GET", url + STREAM) as response:
        wait_until(lambda: bus.subscriber_count == 1)
        started = time.monotonic()
        publisher = publish_in_thread(job)
        got = []
        for message in messages(response):
            got.append(message)
            if message.event == "job_updated" and message.data["status"] == "completed":
                break
        elapsed = time.monotonic() - started
        publisher.join()
    updates = [m for m in got if m.event == "job_updated"]
    assert len([m for m in got if m.event == "job_item" and m.data["outcome"] == "failed"]) == 30
    assert len(updates) <= 20 * elapsed + 3, (len(updates), elapsed)
    assert updates[-1].data | {"percentage": 100.0} == {
        "job_id": 1, "status": "completed", "processed": 3000, "total": 3000, "succeeded": 2970,
        "failed": 30, "skipped": 0, "percentage": 100.0, "current_file": None, "stage": None,
        "eta_seconds": None,
    }  # fmt: skip
    ids = [m.id for m in got]
    assert ids == sorted(ids) and len(set(m.id for m in got if m.event == "job_item")) == 30


def stalled_connection(url: str) -> socket.socket:
    """Open the stream on a raw socket with a tiny receive buffer, and never read from it."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    sock.sendall(f"GET {STREAM} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    return sock


def test_a_client_that_stops_reading_slows_no_one_and_stays_bounded(
    live_server: LiveServer, client: httpx.Client
) -> None:
    bus = EventBus()
    url = live_server(create_app(bus))
    payload = "x" * 600  # big enough that 50,000 events overflow every socket buffer on the way
    burst, marker_id = 50_000, 50_001
    reader_got: list[Message] = []
    reader_done_at: list[float] = []
    stalled = stalled_connection(url)
    try:
        wait_until(lambda: bus.subscriber_count == 1)
        (stalled_subscription,) = bus.subscriptions()
        with client.stream("GET", url + STREAM) as response:

            def read_until_marker() -> None:
                # A resync at or past the marker also ends it: a lapped client is told to re-fetch.
                for message in messages(response):
                    reader_got.append(message)
                    if message.id >= marker_id:
                        reader_done_at.append(time.monotonic())
                        return

            wait_until(lambda: bus.subscriber_count == 2)
            reader = publish_in_thread(read_until_marker)
            started = time.monotonic()
            for n in range(burst):
                bus.publish(item(n, payload=payload))
            publish_seconds = time.monotonic() - started
            assert bus.publish(SettingsChanged({"marker": True})) == marker_id
            marker_at = time.monotonic()
            reader.join(timeout=15)
            assert not reader.is_alive(), "the reading client never caught up"
            # The stalled client fell off the ring, so it was told to resync, and holds at most one batch.
            assert stalled_subscription.resyncs >= 1
            assert stalled_subscription.buffered <= bus.batch_size
    finally:
        stalled.close()
    assert publish_seconds < 3.0, publish_seconds
    assert reader_done_at[0] - marker_at < 2.0
    ids = [m.id for m in reader_got]
    assert ids == sorted(ids)
    items = [m for m in reader_got if m.event == "job_item"]
    assert len(items) == burst or any(m.event == "resync" for m in reader_got)
    wait_until(lambda: bus.subscriber_count == 0)


def test_errors_use_one_json_shape_and_never_leak_a_trace(
    live_server: LiveServer, client: httpx.Client
) -> None:
    broken = APIRouter()

    @broken.get("/api/broken")
    def fail() -> None:
        raise RuntimeError("secret internals at /srv/app.py line 12")

    url = live_server(create_app(EventBus(), routers=[broken]))
    cases = [
        ("GET", "/api/nope", {}, 404, "not_found"),
        ("POST", STREAM, {}, 405, "method_not_allowed"),
        ("GET", STREAM + "?last_event_id=abc", {}, 422, "invalid_request"),
        ("GET", STREAM, {"Last-Event-ID": "twelve"}, 422, "invalid_request"),
        ("GET", "/api/broken", {}, 500, "internal_error"),
    ]
    for method, path, headers, status, code in cases:
        response = client.request(method, url + path, headers=headers)
        assert response.status_code == status, (path, response.text)
        body = response.json()
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
        assert body["error"]["code"] == code and body["error"]["message"]
        assert "Traceback" not in response.text and "secret" not in response.text


def test_every_id_is_new_and_a_replay_after_any_received_id_neither_repeats_nor_skips(
    live_server: LiveServer, client: httpx.Client
) -> None:
    """A held progress snapshot keeps its own id; it never goes out again under a newer event's id."""
    bus = EventBus(job_update_interval=0.05)
    url = live_server(create_app(bus))
    total = 200
    item_ids: dict[int, int] = {}  # bus id -> item number, for every JobItem published

    def progress(n: int, status: str = "running") -> JobUpdated:
        return JobUpdated(1, status, n, total, n, 0, 0, 100 * n / total)

    def job(received: list[Message]) -> None:
        # First a snapshot held with an item behind it, until both reached the client (today's code
        # re-sent the snapshot under the item's id), then a long interleaved run.
        bus.publish(progress(1))
        bus.publish(progress(2))
        item_ids[bus.publish(item(0))] = 0
        wait_until(lambda: len(received) >= 3)
        for n in range(3, total + 1):
            bus.publish(progress(n))
            if n % 4 == 2:
                item_ids[bus.publish(item(n))] = n
            if n % 10 == 0:
                time.sleep(0.002)
        bus.publish(progress(total, "completed"))

    def read_to_the_end(headers: dict[str, str]) -> list[Message]:
        got: list[Message] = []
        with client.stream("GET", url + STREAM, headers=headers) as response:
            for message in messages(response):
                got.append(message)
                if message.event == "job_updated" and message.data["status"] == "completed":
                    return got
        raise AssertionError("the stream ended before the job did")

    live: list[Message] = []
    with client.stream("GET", url + STREAM) as response:
        wait_until(lambda: bus.subscriber_count == 1)
        publisher = publish_in_thread(lambda: job(live))
        for message in messages(response):
            live.append(message)
            if message.event == "job_updated" and message.data["status"] == "completed":
                break
        publisher.join()
    ids = [m.id for m in live]
    assert ids == sorted(set(ids)), ids  # strictly increasing
    assert [m.id for m in live if m.event == "job_item"] == sorted(item_ids)

    resume_at = [m.id for m in live if m.event == "job_item"][len(item_ids) // 2]
    replay = read_to_the_end({"Last-Event-ID": str(resume_at)})
    replay_ids = [m.id for m in replay]
    assert replay_ids[0] > resume_at and replay_ids == sorted(set(replay_ids))
    assert [m.id for m in replay if m.event == "job_item"] == [i for i in sorted(item_ids) if i > resume_at]
    assert replay[-1].id == bus.last_id
