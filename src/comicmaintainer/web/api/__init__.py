"""The HTTP API's routers (docs/API.md), and what they share: the service, the path gate, errors.

Route handlers only translate: HTTP in, a call into `library/` or `jobs/`, JSON out. Every library
path a client sends goes through `resolve`, which refuses anything outside WATCHED_DIR with 400.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from comicmaintainer.library.paths import PathError, resolve_inside
from comicmaintainer.web.app import ApiError

if TYPE_CHECKING:
    from comicmaintainer.web.service import Service

MAX_PATH = 4096


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


def service_of(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def resolve(service: Service, rel: str) -> Path:
    """The absolute path of library path ``rel``; 400 ``bad_path`` if it is not inside the library."""
    try:
        return resolve_inside(service.settings.watched_dir, rel)
    except PathError as exc:
        raise ApiError(400, "bad_path", str(exc)) from None


def existing_file(service: Service, rel: str) -> Path:
    path = resolve(service, rel)
    if not path.is_file():
        raise ApiError(404, "not_found", f"no such file in the library: {rel}")
    return path


def routers() -> list[APIRouter]:
    from comicmaintainer.web.api import files, jobs, metadata, settings, tools

    return [files.router, jobs.router, settings.router, tools.router, metadata.router]
