"""Series metadata: matches, candidates, pins, kinds, match jobs and the source settings.

Secrets (ComicVine's key, Metron's login) can be set here but are never sent back: the settings
answer says only whether each is set.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from comicmaintainer.config import METADATA_KEYS, SECRET_KEYS, ConfigError, Settings
from comicmaintainer.jobs.engine import JobError
from comicmaintainer.jobs.model import JobSpec
from comicmaintainer.library.store import JobKind
from comicmaintainer.metadata.commands import MatchError, chapters_of, match_folder, source_of
from comicmaintainer.metadata.covers import cover
from comicmaintainer.metadata.job import service_for
from comicmaintainer.metadata.model import SourceError
from comicmaintainer.metadata.service import MetadataService
from comicmaintainer.web.api import ERRORS, MAX_PATH, MAX_PREVIEW, resolve, service_of
from comicmaintainer.web.app import ApiError

# A source that is down, slow or refuses the key: 424 (the request depended on it), with its one-line reason.
SOURCE_FAILED: dict[int | str, dict[str, Any]] = {
    424: {**ERRORS[400], "description": "A source could not answer"}
}
router = APIRouter(prefix="/api/metadata", tags=["metadata"], responses={**ERRORS, **SOURCE_FAILED})

Folder = Annotated[str, Field(min_length=1, max_length=MAX_PATH)]
SourceName = Literal["anilist", "mangadex", "mangaupdates", "metron", "comicvine"]
MatchStatus = Literal["matched", "pinned", "needs_match"]


class SeriesOut(BaseModel):
    folder: str
    status: MatchStatus | None
    kind: Literal["manga", "comics"]
    source: str | None
    source_id: str | None
    score: float | None
    record: dict[str, Any] | None
    candidates: list[dict[str, Any]]


class SeriesListOut(BaseModel):
    series: list[SeriesOut]


class CandidatesOut(BaseModel):
    folder: str
    candidates: list[dict[str, Any]]


class FolderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    folder: Folder


class SearchIn(FolderIn):
    source: SourceName | None = None


class PinIn(FolderIn):
    source: SourceName | None = None
    id: Annotated[str, Field(min_length=1, max_length=500, description="a source id or its page address")]


class KindIn(FolderIn):
    kind: Literal["manga", "comics"] | None


class WritesOut(BaseModel):
    folder: str
    match: SeriesOut | None
    chapters: list[dict[str, Any]]
    total: int


class MatchJobIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    folders: Annotated[list[Folder], Field(max_length=10_000)] = []
    all: bool = False


def _metadata(request: Request) -> MetadataService:
    return service_for(service_of(request).ctx)


def _folder(request: Request, folder: str) -> str:
    folder = folder.strip("/")
    if not resolve(service_of(request), folder).is_dir():
        raise ApiError(404, "not_found", f"no such series folder in the library: {folder}")
    return folder


def _series(meta: MetadataService, folder: str) -> dict[str, Any]:
    stored = meta.data.get_match(folder)
    data = stored.to_json() if stored else {"status": None, "source": None, "source_id": None,
                                            "score": None, "record": None, "candidates": []}  # fmt: skip
    return {**data, "folder": folder, "kind": meta.kind_of(folder)}


@router.get("/series", response_model=SeriesListOut, summary="Series with a match, a pin or in need of one")
def list_series(request: Request, status: MatchStatus | None = None,
                limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> dict[str, Any]:  # fmt: skip
    meta = _metadata(request)
    return {"series": [_series(meta, m.folder) for m in meta.data.matches(status, limit)]}


@router.get(
    "/series/detail", response_model=SeriesOut, summary="One series: its match, source and candidates"
)
def series_detail(
    request: Request, folder: Annotated[str, Query(min_length=1, max_length=MAX_PATH)]
) -> dict[str, Any]:
    return _series(_metadata(request), _folder(request, folder))


@router.get("/cover", response_class=FileResponse, summary="A candidate's cover, through this server")
def candidate_cover(
    request: Request,
    folder: Annotated[str, Query(min_length=1, max_length=MAX_PATH)],
    source: SourceName,
    id: Annotated[str, Query(min_length=1, max_length=200)],
) -> FileResponse:
    meta = _metadata(request)
    url = meta.cover_url(_folder(request, folder), source, id)
    if not url:
        raise ApiError(404, "not_found", f"no cover known for {source} {id} in {folder}")
    try:
        path, media = cover(url, service_of(request).settings.config_dir / "cache" / "covers")
    except SourceError as exc:
        raise ApiError(424, "source_failed", str(exc)) from None
    return FileResponse(path, media_type=media, headers={"Cache-Control": "private, max-age=86400"})


@router.post("/series/search", response_model=CandidatesOut, summary="Search the sources for a series")
def search_series(request: Request, body: SearchIn) -> dict[str, Any]:
    folder = _folder(request, body.folder)
    try:
        found = _metadata(request).search(folder, body.source)
    except SourceError as exc:
        raise ApiError(424, "source_failed", str(exc)) from None
    return {"folder": folder, "candidates": [c.to_json() for c in found]}


@router.post("/series/pin", response_model=SeriesOut, summary="Pin a series to a source id or page address")
def pin_series(request: Request, body: PinIn) -> dict[str, Any]:
    """The chapters are written by a ``match`` job started at once (see ``/api/jobs``)."""
    folder = _folder(request, body.folder)
    meta = _metadata(request)
    source = body.source or source_of(body.id)
    if source is None:
        raise ApiError(400, "bad_pin", "say which source the id is from")
    try:
        meta.pin(folder, source, body.id)
    except SourceError as exc:
        raise ApiError(424, "source_failed", str(exc)) from None
    except ValueError as exc:
        raise ApiError(400, "bad_pin", str(exc)) from None
    _submit(request, [folder])
    return _series(meta, folder)


@router.post("/series/clear", response_model=SeriesOut, summary="Forget a series' match or pin")
def clear_series(request: Request, body: FolderIn) -> dict[str, Any]:
    folder = _folder(request, body.folder)
    meta = _metadata(request)
    meta.clear(folder)
    return _series(meta, folder)


@router.post("/series/kind", response_model=SeriesOut, summary="Say a series is manga or comics")
def set_kind(request: Request, body: KindIn) -> dict[str, Any]:
    folder = _folder(request, body.folder)
    meta = _metadata(request)
    meta.set_kind(folder, body.kind)
    return _series(meta, folder)


@router.post(
    "/preview",
    response_model=WritesOut,
    summary=f"What a match would write into a series' first {MAX_PREVIEW} chapters (nothing is written)",
)
def preview_writes(request: Request, body: FolderIn) -> dict[str, Any]:
    """The series is matched first when it has no match yet (the match is kept, as a job would keep
    it); each chapter's fields are then planned as a ``match`` job would write them."""
    folder = _folder(request, body.folder)
    meta = _metadata(request)
    try:
        report = match_folder(service_of(request).ctx, meta, folder, dry_run=True, limit=MAX_PREVIEW)
    except SourceError as exc:
        raise ApiError(424, "source_failed", str(exc)) from None
    return {**report, "match": _series(meta, folder) if report["match"] else None}


@router.post("/match", status_code=201, summary="Start a match job over some series folders or all")
def start_match(request: Request, body: MatchJobIn) -> dict[str, Any]:
    if body.all == bool(body.folders):
        raise ApiError(400, "bad_job", "give either folders or all: true")
    if body.all:
        return _call(lambda: service_of(request).engine.submit(JobSpec(JobKind.MATCH, "all", source="web")))
    return _submit(request, [_folder(request, folder) for folder in body.folders])


def _submit(request: Request, folders: list[str]) -> dict[str, Any]:
    settings = service_of(request).settings
    paths = tuple(rel for folder in folders for rel in chapters_of(settings, folder))
    if not paths:
        raise ApiError(400, "bad_job", "these folders hold no comic archives")
    return _call(
        lambda: service_of(request).engine.submit(JobSpec(JobKind.MATCH, "selected", paths, source="web"))
    )


def _call(submit: Any) -> dict[str, Any]:
    try:
        job: dict[str, Any] = submit()
    except (JobError, MatchError) as exc:
        raise ApiError(400, "bad_job", str(exc)) from None
    return job


# -- settings --------------------------------------------------------------------------------------


def metadata_settings(settings: Settings) -> dict[str, Any]:
    """Every metadata setting; a secret shows only as ``<name>_set``."""
    out: dict[str, Any] = {key: getattr(settings, key) for key in METADATA_KEYS if key not in SECRET_KEYS}
    out.update({f"{key}_set": bool(getattr(settings, key)) for key in sorted(SECRET_KEYS)})
    return out


@router.get("/settings", summary="The source settings (secrets shown only as set or not)")
def get_metadata_settings(request: Request) -> dict[str, Any]:
    return metadata_settings(service_of(request).settings)


@router.put("/settings", summary="Change some source settings; they apply to the next request")
def put_metadata_settings(request: Request, body: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(body) - set(METADATA_KEYS))
    if unknown:
        raise ApiError(400, "bad_setting", f"unknown metadata setting: {', '.join(unknown)[:200]}")
    try:
        new = service_of(request).update_settings(body) if body else service_of(request).settings
    except ConfigError as exc:
        raise ApiError(400, "bad_setting", str(exc)) from None
    return metadata_settings(new)
