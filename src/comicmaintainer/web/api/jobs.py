"""Jobs: start, list, get, items, cancel, retry, delete. The engine does the work; this translates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from comicmaintainer.jobs.engine import Conflict, JobError, NotFound
from comicmaintainer.jobs.model import JobSpec
from comicmaintainer.web.api import ERRORS, MAX_PATH, resolve, service_of
from comicmaintainer.web.app import ApiError

router = APIRouter(prefix="/api/jobs", tags=["jobs"], responses=ERRORS)

JobStatus = Literal["queued", "running", "completed", "cancelled", "failed"]
ItemStatus = Literal["queued", "reading", "tagging", "renaming", "done", "failed", "skipped", "cancelled"]
JobId = Annotated[int, Path(ge=1, le=2**62)]
T = TypeVar("T")
RelPath = Annotated[str, Field(min_length=1, max_length=MAX_PATH)]


class JobIn(BaseModel):
    kind: Literal["process", "rename", "normalize", "tag_update", "match"]
    scope: Literal["all", "selected", "unprocessed"] = "selected"
    paths: Annotated[list[RelPath], Field(max_length=100_000)] = []
    tags: dict[str, str | None] = {}


class JobOut(BaseModel):
    id: int
    kind: str
    scope: str
    status: JobStatus
    total: int
    processed: int
    succeeded: int
    failed: int
    skipped: int
    percentage: float
    current_file: str | None
    stage: str | None
    eta_seconds: float | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    retry_of: int | None
    source: Literal["web", "watcher", "cli"]


class JobsOut(BaseModel):
    jobs: list[JobOut]


class ItemOut(BaseModel):
    id: int
    job_id: int
    path: str
    status: ItemStatus
    error: str | None
    result: dict[str, Any] | None


class ItemsOut(BaseModel):
    items: list[ItemOut]


def _call(action: Callable[[], T]) -> T:
    try:
        return action()
    except NotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except Conflict as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    except JobError as exc:
        raise ApiError(400, "bad_job", str(exc)) from None


@router.post("", response_model=JobOut, status_code=201, summary="Start a job")
def start_job(request: Request, body: JobIn) -> dict[str, Any]:
    service = service_of(request)
    if body.scope == "selected" and not body.paths:
        raise ApiError(400, "bad_job", "scope 'selected' needs at least one path")
    for rel in body.paths:
        resolve(service, rel)  # 400 for any path outside the library, before anything is stored
    tags = {key: value or "" for key, value in body.tags.items()}
    spec = JobSpec(body.kind, body.scope, tuple(body.paths), tags, "web")
    return _call(lambda: service.engine.submit(spec))


@router.get("", response_model=JobsOut, summary="Jobs, newest first")
def list_jobs(
    request: Request, status: JobStatus | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> dict[str, Any]:
    return {"jobs": service_of(request).engine.list(status=status, limit=limit)}


@router.get("/{job_id}", response_model=JobOut, summary="One job")
def get_job(request: Request, job_id: JobId) -> dict[str, Any]:
    return _call(lambda: service_of(request).engine.get(job_id))


@router.get("/{job_id}/items", response_model=ItemsOut, summary="A job's items in queue order")
def job_items(
    request: Request,
    job_id: JobId,
    status: ItemStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 500,
) -> dict[str, Any]:
    return {"items": _call(lambda: service_of(request).engine.items(job_id, status=status, limit=limit))}


@router.post("/{job_id}/cancel", response_model=JobOut, summary="Cancel: queued items never run")
def cancel_job(request: Request, job_id: JobId) -> dict[str, Any]:
    return _call(lambda: service_of(request).engine.cancel(job_id))


@router.post("/{job_id}/retry", response_model=JobOut, status_code=201, summary="Re-run the failed items")
def retry_job(request: Request, job_id: JobId) -> dict[str, Any]:
    return _call(lambda: service_of(request).engine.retry(job_id))


@router.delete("/{job_id}", status_code=204, response_class=Response, summary="Delete a finished job")
def delete_job(request: Request, job_id: JobId) -> Response:
    _call(lambda: service_of(request).engine.delete(job_id))
    return Response(status_code=204)
