"""The HTTP API's routers (docs/API.md), and what they share: the service, the path gate, errors.

Route handlers only translate: HTTP in, a call into `library/` or `jobs/`, JSON out. Every library
path a client sends goes through `resolve`, which refuses anything outside WATCHED_DIR with 400.

The routers reach the running service through the request's app state, as an `ApiService`: the
few things they ask of it. They never import `web/service.py`, which wires them into the app
(`files`, `jobs`, `seed`, `settings`, `tools` and `integrations` each hold one `router`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from fastapi import Request
from pydantic import BaseModel

from comicmaintainer.config import Settings
from comicmaintainer.jobs.engine import JobEngine
from comicmaintainer.library.paths import PathError, resolve_inside
from comicmaintainer.library.process import Context
from comicmaintainer.library.scanner import ScanReport
from comicmaintainer.library.store import FileList, Store
from comicmaintainer.web.app import ApiError

MAX_PATH = 4096
# Files per preview (a file batch's, a series' match): it runs inside the request (static/dialogs.js
# sends no more).
MAX_PREVIEW = 50


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorBody


# Declared on every router so /openapi.json describes the error answers too.
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in (
        (400, "Bad input, e.g. a path outside the library"),
        (404, "Not found"),
        (409, "Conflict with the current state"),
        (422, "Invalid request"),
    )
}


class ApiService(Protocol):
    """What the routers ask of the running service (``web.service.Service`` is one)."""

    settings: Settings
    store: Store
    ctx: Context
    engine: JobEngine
    files: FileList
    watcher: Any  # None, or something with status() (and set_enabled() for the real one)
    integrations: Any  # integrations.hub.Integrations: reader rescans and notifications
    started_at: float

    def scan(self) -> ScanReport: ...

    def update_settings(self, changes: dict[str, Any]) -> Settings: ...


def service_of(request: Request) -> ApiService:
    service: ApiService = request.app.state.service
    return service


def resolve(service: ApiService, rel: str) -> Path:
    """The absolute path of library path ``rel``; 400 ``bad_path`` if it is not inside the library."""
    try:
        return resolve_inside(service.settings.watched_dir, rel)
    except PathError as exc:
        raise ApiError(400, "bad_path", str(exc)) from None


def existing_file(service: ApiService, rel: str) -> Path:
    path = resolve(service, rel)
    if not path.is_file():
        raise ApiError(404, "not_found", f"no such file in the library: {rel}")
    return path
