"""The FastAPI application factory and the one JSON error shape.

`create_app` holds no module-level state: the caller builds the bus (and later the store, the job
engine) and hands them in; route modules reach them through `request.app.state`.

Every error a client sees looks like `{"error": {"code": "not_found", "message": "..."}}`.
Route code raises `ApiError(status, code, message)` for its own errors; FastAPI's 404/405/422 and
any unexpected exception are mapped into the same shape. A stack trace goes to the log, never
to the client.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from comicmaintainer import __version__
from comicmaintainer.jobs.events import EventBus
from comicmaintainer.web.api_docs import docs_router
from comicmaintainer.web.sse import DEFAULT_PING_SECONDS, events_router

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "invalid_request",
    500: "internal_error",
}


class ApiError(Exception):
    """An error a route reports to the client: HTTP status, a stable code and one plain line."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def create_app(
    bus: EventBus,
    *,
    routers: Sequence[APIRouter] = (),
    sse_ping_seconds: float = DEFAULT_PING_SECONDS,
) -> FastAPI:
    """The web application: the event stream, then `routers` in order, with JSON errors."""
    # /docs is served from vendored files by api_docs (FastAPI's own page needs a CDN and inline script).
    app = FastAPI(title="ComicMaintainer", version=__version__, docs_url=None, redoc_url=None)
    app.state.bus = bus
    app.include_router(events_router(ping_seconds=sse_ping_seconds))
    app.include_router(docs_router())
    for router in routers:
        app.include_router(router)
    _install_error_handlers(app)
    return app


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _code_for(status: int) -> str:
    if status in _CODES:
        return _CODES[status]
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def _install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.code, exc.message)

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return error_response(exc.status_code, _code_for(exc.status_code), message, exc.headers)

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(422, "invalid_request", _describe_validation(exc.errors()))

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, "internal_error", "Internal server error; the details are in the log.")

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_unexpected)


def _describe_validation(errors: Sequence[Any]) -> str:
    """`query.per_page: Input should be less than or equal to 500; ...` (first three problems)."""
    parts = []
    for error in list(errors)[:3]:
        where = ".".join(str(p) for p in error.get("loc", ()))
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    more = len(errors) - 3
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "") or "invalid request"
