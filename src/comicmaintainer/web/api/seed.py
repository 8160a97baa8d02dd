"""The original ComicMaintainer's routes, kept so that scripts written against it keep working.

`POST /api/jobs/process-all` and `POST /api/jobs/process-selected` start the same jobs as
`POST /api/jobs` (through `jobs.submit`) and answer in the seed's shape, `{"job_id", "total_items"}`.
`GET /api/cache/stats` answers the store's statistics. docs/API.md, "Coming from ComicMaintainer",
says what each one does here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from comicmaintainer.library.paths import PathError, to_rel
from comicmaintainer.library.store import JobKind
from comicmaintainer.web.api import ERRORS, MAX_PATH, service_of
from comicmaintainer.web.api.jobs import MAX_JOB_PATHS, JobIn, JobStatus, submit
from comicmaintainer.web.app import ApiError

router = APIRouter(tags=["seed"], responses=ERRORS)

SeedPath = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_PATH,
        description="Relative to WATCHED_DIR, or absolute inside it (the seed's form)",
    ),
]


class SelectedIn(BaseModel):
    files: Annotated[list[SeedPath], Field(min_length=1, max_length=MAX_JOB_PATHS)]


class SeedJobOut(BaseModel):
    job_id: int
    total_items: int
    status: JobStatus


class Thumbnails(BaseModel):
    count: int
    bytes: int


class CacheStatsOut(BaseModel):
    files: dict[str, int]
    folders: int
    history_actions: int
    jobs: int
    job_items: int
    database_bytes: int
    thumbnails: Thumbnails


@router.post(
    "/api/jobs/process-all",
    response_model=SeedJobOut,
    summary="Process every file (the seed's form of POST /api/jobs with scope 'all')",
)
def process_all(request: Request) -> dict[str, Any]:
    job = submit(service_of(request), JobIn(kind=JobKind.PROCESS, scope="all"))
    return _seed_answer(job)


@router.post(
    "/api/jobs/process-selected",
    response_model=SeedJobOut,
    summary="Process the files given (the seed's form of POST /api/jobs with scope 'selected')",
)
def process_selected(request: Request, body: SelectedIn) -> dict[str, Any]:
    service = service_of(request)
    paths = [_library_path(service.settings.watched_dir, raw) for raw in body.files]
    return _seed_answer(submit(service, JobIn(kind=JobKind.PROCESS, scope="selected", paths=paths)))


@router.get("/api/cache/stats", response_model=CacheStatsOut, summary="What the store and cover cache hold")
def cache_stats(request: Request) -> dict[str, Any]:
    service = service_of(request)
    rows = service.store.row_counts()
    count, size = _thumbnail_usage(service.settings.thumbs_dir)
    return {
        "files": service.files.counts(),
        "folders": len(service.files.folders()),
        "history_actions": rows["actions"],
        "jobs": rows["jobs"],
        "job_items": rows["job_items"],
        "database_bytes": _database_bytes(service.settings.db_path),
        "thumbnails": {"count": count, "bytes": size},
    }


def _seed_answer(job: dict[str, Any]) -> dict[str, Any]:
    return {"job_id": job["id"], "total_items": job["total"], "status": job["status"]}


def _library_path(root: Path, raw: str) -> str:
    """``raw`` as a library path: the seed sent absolute paths, so one inside WATCHED_DIR is accepted.

    Anything else is returned as given; `jobs.submit` then refuses it with 400 unless it is a plain
    relative path inside the library.
    """
    if not raw.startswith("/") or "\x00" in raw or "\\" in raw:
        return raw
    try:
        rel = to_rel(root, Path(raw))
    except (PathError, OSError, ValueError):
        rel = ""
    if not rel:  # outside the library, or the library folder itself
        raise ApiError(400, "bad_path", f"path {raw!r} does not name a file inside the library")
    return rel


def _database_bytes(db: Path) -> int:
    return sum(p.stat().st_size for p in (db, db.with_name(db.name + "-wal")) if p.exists())


def _thumbnail_usage(thumbs_dir: Path) -> tuple[int, int]:
    """(files, bytes) in the cover cache: ``thumbs/<2 hex digits>/<key>.<ext>``, one level of folders."""
    count = size = 0
    try:
        with os.scandir(thumbs_dir) as entries:
            folders = [entry for entry in entries if entry.is_dir(follow_symlinks=False)]
    except FileNotFoundError:
        return 0, 0
    for folder in folders:
        try:
            with os.scandir(folder.path) as entries:
                for entry in entries:
                    if entry.is_file(follow_symlinks=False):
                        size += entry.stat(follow_symlinks=False).st_size
                        count += 1
        except FileNotFoundError:  # a folder or a file removed while counting is simply not counted
            continue
    return count, size
