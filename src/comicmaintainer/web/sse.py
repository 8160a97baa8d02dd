"""`GET /api/events/stream`: the bus's events as Server-Sent Events.

Each message carries `id:` (the bus's monotonic id), `event:` (the event's kind) and one line of
compact JSON `data:`. A reconnecting browser sends `Last-Event-ID`; clients that cannot set headers
pass `?last_event_id=`. The header wins when both are present, because a browser's automatic
reconnect adds the newer header to the URL it first opened.

The stream is never compressed (a gzip buffer would hold events back), carries
`X-Accel-Buffering: no` for nginx, and pings every `ping_seconds` so idle proxies keep it open.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from sse_starlette import EventSourceResponse
from starlette.types import Message, Send

from comicmaintainer.jobs.events import Envelope, EventBus

DEFAULT_PING_SECONDS = 15.0
STREAM_PATH = "/api/events/stream"
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def encode_frame(envelope: Envelope) -> bytes:
    """One SSE message. The JSON is compact, so it never contains a line break."""
    return f"id: {envelope.id}\r\nevent: {envelope.kind}\r\ndata: {envelope.data}\r\n\r\n".encode()


class EventStreamResponse(EventSourceResponse):
    """sse-starlette's response (pings, disconnect listener, shutdown drain, HEAD) with a cheaper send.

    Without a send timeout the library still opens an anyio cancel scope around every message. With
    500 clients that scope was about a fifth of the server's CPU per event (105 -> 85 us per client
    in bench/sse_latency.py), and a fan-out of one event to every client must finish well inside
    100 ms. A stalled client still cannot hold anyone up: each stream has its own task.

    A private door, kept because no public one exists: sse-starlette opens the scope whatever
    ``send_timeout`` is, and has no option to skip it, so this overrides its private
    ``_send_with_timeout`` (every message, ping and final frame goes through it).
    ``tests/test_private_doors.py`` fails when a release renames it or stops sending through it.
    """

    async def _send_with_timeout(self, send: Send, message: Message) -> None:
        if self.send_timeout is None:
            await send(message)
        else:
            await super()._send_with_timeout(send, message)


def events_router(*, ping_seconds: float = DEFAULT_PING_SECONDS) -> APIRouter:
    """A router serving the event stream of `request.app.state.bus`."""
    router = APIRouter(tags=["events"])

    @router.get(STREAM_PATH, response_class=EventStreamResponse, summary="Live events (Server-Sent Events)")
    async def event_stream(
        request: Request,
        last_event_id: int | None = Query(default=None, ge=0, description="Resume after this event id"),
    ) -> EventStreamResponse:
        bus: EventBus = request.app.state.bus
        resume_after = _resume_point(request.headers.get("last-event-id"), last_event_id)
        return EventStreamResponse(_frames(bus, resume_after), ping=ping_seconds, headers=STREAM_HEADERS)

    return router


def _resume_point(header: str | None, query: int | None) -> int | None:
    if header is None or not header.strip():
        return query
    try:
        value = int(header.strip())
    except ValueError:
        value = -1
    if value < 0:
        raise RequestValidationError(
            [{"type": "int_parsing", "loc": ("header", "last-event-id"), "msg": "must be an event id"}]
        )
    return value


async def _frames(bus: EventBus, resume_after: int | None) -> AsyncIterator[bytes]:
    # Subscribing inside the generator ties the subscription's life to the stream: whether the
    # client leaves (the response cancels us) or the server shuts down, `finally` releases it.
    subscription = bus.subscribe(resume_after)
    try:
        while batch := await subscription.next_batch():
            if len(batch) == 1:  # the usual case: one event's bytes, shared by every client
                yield batch[0].encoded(encode_frame)
            else:
                yield b"".join([envelope.encoded(encode_frame) for envelope in batch])
    finally:
        subscription.close()
