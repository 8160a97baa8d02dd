"""Files: the list (search, filter, sort, pages, grouped by folder), folders, tags, per-file actions,
the dry-run preview, covers and a rescan."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from comicmaintainer.archive.errors import ArchiveError
from comicmaintainer.jobs.model import JobKind, JobSpec
from comicmaintainer.library import edit, trash
from comicmaintainer.library.preview import reconcile_preview
from comicmaintainer.library.process import Outcome, process
from comicmaintainer.library.store import PER_PAGE_RANGE, FileQuery, FileRow, Status
from comicmaintainer.web import thumbs
from comicmaintainer.web.api import ERRORS, MAX_PATH, MAX_PREVIEW, existing_file, service_of
from comicmaintainer.web.api.jobs import JobOut, engine_call
from comicmaintainer.web.app import ApiError

router = APIRouter(prefix="/api", tags=["files"], responses=ERRORS)

# The job kind that runs each pipeline mode.
MODE_KINDS: dict[str, JobKind] = {
    "full": JobKind.PROCESS,
    "rename": JobKind.RENAME,
    "normalize": JobKind.NORMALIZE,
}

PathQuery = Annotated[str, Query(min_length=1, max_length=MAX_PATH, description="Relative to WATCHED_DIR")]
PathField = Annotated[str, Field(min_length=1, max_length=MAX_PATH, description="Relative to WATCHED_DIR")]
Tags = dict[str, str | None]


class FileOut(BaseModel):
    path: str
    folder: str
    name: str
    size: int
    mtime: float
    status: Status
    error: str | None
    duplicate_of: str | None
    manual_edit: bool


class Counts(BaseModel):
    all: int
    processed: int
    unprocessed: int
    duplicates: int
    needs_attention: int


class Group(BaseModel):
    folder: str
    files: list[FileOut]


class FileListOut(BaseModel):
    page: int
    per_page: int
    total: int
    pages: int
    counts: Counts
    groups: list[Group]


class Folder(BaseModel):
    folder: str
    count: int


class FoldersOut(BaseModel):
    folders: list[Folder]


class TagsOut(BaseModel):
    path: str
    tags: Tags


class TagsIn(BaseModel):
    path: PathField
    tags: Tags = Field(description="ComicInfo field -> new value; null or '' removes the field")


class ProcessIn(BaseModel):
    path: PathField
    mode: Literal["full", "rename", "normalize"] = "full"


class ResultOut(BaseModel):
    path: str
    outcome: Outcome
    new_path: str | None = None
    tags_before: Tags = {}
    tags_after: Tags = {}
    duplicate_of: str | None = None
    identical: bool | None = None
    moved_to: str | None = None
    message: str | None = None
    action_id: int | None = None
    dry_run: bool = False


class PreviewIn(BaseModel):
    paths: Annotated[list[PathField], Field(min_length=1, max_length=MAX_PREVIEW)]


class PreviewOut(BaseModel):
    items: list[ResultOut]


class ScanOut(BaseModel):
    counts: dict[str, int]
    added: int
    changed: int
    moved: int
    removed: int


def file_json(row: FileRow) -> dict[str, Any]:
    """A store row as the API's ``File`` (also the ``row`` of a ``file_changed`` event)."""
    return {
        "path": row.path,
        "folder": row.folder,
        "name": row.name,
        "size": row.size,
        "mtime": row.mtime_ns / 1e9,
        "status": row.status.value,
        "error": row.error,
        "duplicate_of": row.duplicate_of,
        "manual_edit": row.manual_edit,
    }


@router.get("/files", response_model=FileListOut, summary="One page of the file list, grouped by folder")
def list_files(
    request: Request,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=PER_PAGE_RANGE[0], le=PER_PAGE_RANGE[1])] = 100,
    search: Annotated[str, Query(max_length=200)] = "",
    filter: Literal["all", "processed", "unprocessed", "duplicates", "needs_attention"] = "all",
    sort: Literal["name", "folder", "date", "size"] = "name",
    direction: Literal["asc", "desc"] = "asc",
) -> dict[str, Any]:
    query = FileQuery(page, per_page, search.strip(), filter, sort, direction)
    result = service_of(request).files.page(query)
    # Consecutive rows of one folder form a group, so the sort order holds across groups; sorted by
    # folder, each folder is one group.
    groups: list[dict[str, Any]] = []
    for row in result.rows:
        if not groups or groups[-1]["folder"] != row.folder:
            groups.append({"folder": row.folder, "files": []})
        groups[-1]["files"].append(file_json(row))
    return {
        "page": page,
        "per_page": per_page,
        "total": result.total,
        "pages": max(1, math.ceil(result.total / per_page)),
        "counts": result.counts,
        "groups": groups,
    }


@router.get("/folders", response_model=FoldersOut, summary="Every folder holding files, with its count")
def list_folders(request: Request) -> dict[str, Any]:
    folders = service_of(request).files.folders()
    return {"folders": [{"folder": folder, "count": count} for folder, count in folders]}


@router.get("/files/tags", response_model=TagsOut, summary="Every ComicInfo field of one file")
def get_tags(request: Request, path: PathQuery) -> dict[str, Any]:
    service = service_of(request)
    existing_file(service, path)
    return _edit_call(lambda: edit.read_tags(path, service.ctx))


@router.put("/files/tags", response_model=TagsOut, summary="Change ComicInfo fields of one file")
def put_tags(request: Request, body: TagsIn) -> dict[str, Any]:
    service = service_of(request)
    existing_file(service, body.path)
    return _edit_call(lambda: edit.edit_tags(body.path, body.tags, service.ctx))


def _edit_call(call: Any) -> dict[str, Any]:
    try:
        result: dict[str, Any] = call()
    except edit.NotInLibrary as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except edit.EditError as exc:
        raise ApiError(400, "bad_tags", str(exc)) from None
    except ArchiveError as exc:
        raise ApiError(422, "unreadable_archive", str(exc)) from None
    return result


@router.post(
    "/files/process", response_model=JobOut, status_code=202, summary="Process, rename or normalize one file"
)
def process_file(request: Request, body: ProcessIn) -> dict[str, Any]:
    """Starts a job of one item and answers it at once; the item's outcome is the job's
    (`GET /api/jobs/{id}/items`, or `job_item` on the event stream). A request never waits for the
    pipeline: one large archive, or a busy database, must not hold a web worker."""
    service = service_of(request)
    existing_file(service, body.path)
    # A person chose this file (scope "selected"), so it is opened even when processed and unchanged.
    spec = JobSpec(MODE_KINDS[body.mode], "selected", (body.path,), source="web")
    return engine_call(lambda: service.engine.submit(spec))


@router.post(
    "/preview",
    response_model=PreviewOut,
    summary=f"What processing would do (nothing is written), for at most {MAX_PREVIEW} files",
)
def preview(request: Request, body: PreviewIn) -> dict[str, Any]:
    """Answered within the request: a dry run reads each archive but writes nothing, and the number
    of files is bounded so that the answer stays quick."""
    service = service_of(request)
    for rel in body.paths:
        existing_file(service, rel)
    # Reconciled as a batch: a second file planned onto a name another file takes is a duplicate of
    # the same book or kept apart from a different one, as the real run would do.
    results = reconcile_preview([process(rel, service.ctx, dry_run=True) for rel in body.paths], service.ctx)
    return {"items": [result.to_json() for result in results]}


@router.delete("/files", status_code=204, response_class=Response, summary="Move one file to the trash")
def delete_file(request: Request, path: PathQuery) -> Response:
    """The file goes to CONFIG_DIR/trash/<time>/<path> (recorded in history), never straight to oblivion."""
    service = service_of(request)
    existing_file(service, path)
    try:
        trash.move_to_trash(path, service.ctx)
    except trash.NotInLibrary as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except trash.AlreadyInTrash as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    return Response(status_code=204)


@router.get(
    "/files/cover",
    response_class=Response,
    summary="A thumbnail of the first page (WebP, or JPEG where WebP is unavailable)",
    responses={200: {"content": {"image/webp": {}, "image/jpeg": {}}}, 304: {"description": "Not modified"}},
)
def cover(request: Request, path: PathQuery) -> Response:
    service = service_of(request)
    archive = existing_file(service, path)
    etag = f'"{thumbs.thumbnail_key(path, archive)}"'
    headers = {"ETag": etag, "Cache-Control": "private, max-age=86400"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    try:
        thumb = thumbs.cover_thumbnail(path, archive, service.settings.thumbs_dir)
    except thumbs.CoverError as exc:
        raise ApiError(422, "no_cover", str(exc)) from None
    return Response(_read(thumb.path), media_type=thumb.media_type, headers=headers)


def _read(path: Path) -> bytes:
    return path.read_bytes()


@router.post("/scan", response_model=ScanOut, summary="Sync the list with the folder (no archive is opened)")
def rescan(request: Request) -> dict[str, Any]:
    service = service_of(request)
    report = service.scan()
    return {
        "counts": service.files.counts(),
        "added": len(report.added),
        "changed": len(report.changed),
        "moved": len(report.moved),
        "removed": len(report.removed),
    }
