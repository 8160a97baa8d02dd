"""Logs, history with undo, version, health and statistics."""

from __future__ import annotations

import os
import time
from dataclasses import asdict, is_dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from comicmaintainer import __version__
from comicmaintainer.library.store import FileQuery, StoreError
from comicmaintainer.library.undo import UndoError, undo
from comicmaintainer.logs import tail
from comicmaintainer.web.api import ERRORS, service_of
from comicmaintainer.web.app import ApiError

router = APIRouter(prefix="/api", tags=["tools"], responses=ERRORS)


class LogsOut(BaseModel):
    lines: list[str]


class ActionOut(BaseModel):
    id: int
    at: float
    kind: str
    old_path: str | None
    new_path: str | None
    state: Literal["pending", "done", "undone", "rolled_back"]
    tags_changed: bool


class HistoryOut(BaseModel):
    actions: list[ActionOut]


class MessageOut(BaseModel):
    message: str


class VersionOut(BaseModel):
    version: str


class Check(BaseModel):
    ok: bool
    detail: str


class HealthOut(BaseModel):
    ok: bool
    database: Check
    watched_folder: Check
    watcher: Check


class StatsOut(BaseModel):
    counts: dict[str, int]
    database_bytes: int
    query_ms: dict[str, float]
    uptime_seconds: float


@router.get("/logs", response_model=LogsOut, summary="The last lines of the log, optionally from a level up")
def logs(
    request: Request,
    lines: Annotated[int, Query(ge=1, le=10_000)] = 200,
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] | None = None,
) -> dict[str, Any]:
    return {"lines": tail(service_of(request).settings, lines=lines, level=level)}


@router.get("/history", response_model=HistoryOut, summary="Changes made to files, newest first")
def history(request: Request, limit: Annotated[int, Query(ge=1, le=10_000)] = 50) -> dict[str, Any]:
    actions = service_of(request).store.list_actions(limit)
    return {
        "actions": [
            {
                "id": a.id,
                "at": a.at,
                "kind": a.kind,
                "old_path": a.old_path,
                "new_path": a.new_path,
                "state": a.state.value,
                "tags_changed": a.old_xml != a.new_xml,
            }
            for a in actions
        ]
    }


@router.post("/history/{action_id}/undo", response_model=MessageOut, summary="Put a file back as it was")
def undo_action(request: Request, action_id: Annotated[int, Path(ge=1, le=2**62)]) -> dict[str, Any]:
    service = service_of(request)
    if service.store.get_action(action_id) is None:
        raise ApiError(404, "not_found", f"there is no action {action_id}")
    try:
        return {"message": undo(action_id, service.ctx)}
    except UndoError as exc:
        raise ApiError(409, "cannot_undo", str(exc)) from None


@router.get("/version", response_model=VersionOut, summary="The program's version")
def version() -> dict[str, Any]:
    return {"version": __version__}


@router.get(
    "/health",
    response_model=HealthOut,
    summary="Database, watched folder and watcher thread; 503 when one of them is not well",
    responses={503: {"model": HealthOut, "description": "Something is not well"}},
)
def health(request: Request) -> Any:
    service = service_of(request)
    checks = {
        "database": _check_database(service),
        "watched_folder": _check_folder(service),
        "watcher": _check_watcher(service),
    }
    ok = all(check["ok"] for check in checks.values())
    body = HealthOut.model_validate({"ok": ok, **checks}).model_dump()
    return body if ok else JSONResponse(body, status_code=503)


def _check_database(service: Any) -> dict[str, Any]:
    try:
        service.files.counts()
    except (StoreError, OSError, Exception) as exc:  # noqa: BLE001 - any failure means unreachable
        return {"ok": False, "detail": f"database unreachable: {type(exc).__name__}"}
    return {"ok": True, "detail": "reachable"}


def _check_folder(service: Any) -> dict[str, Any]:
    folder = service.settings.watched_dir
    if not folder.is_dir() or not os.access(folder, os.R_OK | os.X_OK):
        return {"ok": False, "detail": "the library folder is missing or not readable"}
    try:
        next(iter(os.scandir(folder)), None)
    except OSError as exc:
        return {"ok": False, "detail": f"the library folder cannot be read: {exc.strerror or exc}"}
    # No absolute paths: health answers without login (for the container's health check).
    return {"ok": True, "detail": "readable"}


def _check_watcher(service: Any) -> dict[str, Any]:
    watcher = service.watcher
    if watcher is None:
        return {"ok": True, "detail": "not running in this process"}
    status = watcher.status()
    fields = asdict(status) if is_dataclass(status) and not isinstance(status, type) else {}
    if not fields.get("enabled", True):
        return {"ok": True, "detail": "switched off in the settings"}
    alive = bool(fields.get("running", True)) and bool(fields.get("observer_alive", True))
    error = fields.get("last_error")
    detail = "watching" if alive else f"not watching: {error or 'thread stopped'}"
    return {"ok": alive, "detail": detail}


@router.get("/stats", response_model=StatsOut, summary="Counts, database size and query times")
def stats(request: Request) -> dict[str, Any]:
    service = service_of(request)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    counts = service.files.counts()
    timings["counts"] = _ms(start)
    start = time.perf_counter()
    service.files.page(FileQuery())
    timings["first_page"] = _ms(start)
    db = service.settings.db_path
    size = sum(p.stat().st_size for p in (db, db.with_name(db.name + "-wal")) if p.exists())
    return {
        "counts": counts,
        "database_bytes": size,
        "query_ms": timings,
        "uptime_seconds": round(time.time() - service.started_at, 1),
    }


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)
