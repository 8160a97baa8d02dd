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

from comicmaintainer.jobs.events import Envelope, EventBus

DEFAULT_PING_SECONDS = 15.0
STREAM_PATH = "/api/events/stream"
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def encode_frame(envelope: Envelope) -> bytes:
    """One SSE message. The JSON is compact, so it never contains a line break."""
    return f"id: {envelope.id}\r\nevent: {envelope.kind}\r\ndata: {envelope.data}\r\n\r\n".encode()


def events_router(*, ping_seconds: float = DEFAULT_PING_SECONDS) -> APIRouter:
    """A router serving the event stream of `request.app.state.bus`."""
    router = APIRouter(tags=["events"])

    @router.get(STREAM_PATH, response_class=EventSourceResponse, summary="Live events (Server-Sent Events)")
    async def event_stream(
        request: Request,
        last_event_id: int | None = Query(default=None, ge=0, description="Resume after this event id"),
    ) -> EventSourceResponse:
        bus: EventBus = request.app.state.bus
        resume_after = _resume_point(request.headers.get("last-event-id"), last_event_id)
        return EventSourceResponse(_frames(bus, resume_after), ping=ping_seconds, headers=STREAM_HEADERS)

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
            yield b"".join(encode_frame(envelope) for envelope in batch)
    finally:
        subscription.close()
