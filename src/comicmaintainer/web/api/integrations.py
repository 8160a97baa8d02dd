"""Reader servers, notifications and the consistency check over HTTP (docs/API.md).

Secrets never leave the server: API keys and passwords come back as the mask, notification URLs
as Apprise's privacy form. A PUT that sends a mask back keeps the stored secret.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from comicmaintainer.config import ConfigError
from comicmaintainer.integration_settings import check_servers
from comicmaintainer.integrations.rescan import check_connection
from comicmaintainer.integrations.secrets import keep_secrets, keep_urls, mask_servers, mask_urls
from comicmaintainer.jobs.engine import JobError
from comicmaintainer.jobs.model import JobSpec
from comicmaintainer.library.consistency import check_library, folder_paths
from comicmaintainer.library.store import JobKind
from comicmaintainer.web.api import ERRORS, MAX_PATH, service_of
from comicmaintainer.web.app import ApiError

router = APIRouter(prefix="/api", tags=["integrations"], responses=ERRORS)

Server = dict[str, Any]


class IntegrationsIn(BaseModel):
    """Only the keys given change; config.py checks the shapes (one plain line when refused)."""

    model_config = ConfigDict(extra="forbid")
    reader_servers: Annotated[list[Server], Field(max_length=20)] | None = None
    reader_debounce: Annotated[float, Field(ge=0, le=3600)] | None = None
    notify_urls: Annotated[list[Annotated[str, Field(max_length=4000)]], Field(max_length=50)] | None = None
    notify_events: dict[str, bool] | None = None
    notify_group_seconds: Annotated[float, Field(ge=0, le=3600)] | None = None


class IntegrationsOut(BaseModel):
    reader_servers: list[Server]
    reader_debounce: float
    notify_urls: list[str]
    notify_events: dict[str, bool]
    notify_group_seconds: float
    server_states: list[dict[str, Any]]


class ServerTestIn(BaseModel):
    """A server as the form holds it (a masked key means the stored one), or just a stored name."""

    name: Annotated[str, Field(min_length=1, max_length=60)]
    server: Server | None = None


class FixIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    folder: Annotated[str, Field(max_length=MAX_PATH)]
    action: Literal["normalize", "tag_update"]
    tags: dict[str, str] = {}


@router.get("/integrations", response_model=IntegrationsOut, summary="Reader servers and notifications")
def get_integrations(request: Request) -> dict[str, Any]:
    return _shown(request)


@router.put("/integrations", response_model=IntegrationsOut, summary="Change reader or notification settings")
def put_integrations(request: Request, body: IntegrationsIn) -> dict[str, Any]:
    service = service_of(request)
    changes = body.model_dump(exclude_none=True)
    if "reader_servers" in changes:
        changes["reader_servers"] = keep_secrets(changes["reader_servers"], service.settings.reader_servers)
    if "notify_urls" in changes:
        changes["notify_urls"] = keep_urls(changes["notify_urls"], service.settings.notify_urls)
    try:
        if changes:
            service.update_settings(changes)
    except ConfigError as exc:
        raise ApiError(400, "bad_setting", str(exc)) from None
    return _shown(request)


@router.post("/integrations/servers/test", summary="Log in to a reader server and list its libraries")
def try_server(request: Request, body: ServerTestIn) -> dict[str, Any]:
    service = service_of(request)
    stored = service.settings.reader_servers
    raw = (
        body.server if body.server is not None else next((s for s in stored if s["name"] == body.name), None)
    )
    if raw is None:
        raise ApiError(404, "not_found", f"no reader server named {body.name}")
    try:
        (server,) = check_servers(keep_secrets([{**raw, "name": body.name}], stored))
    except ValueError as exc:
        raise ApiError(400, "bad_setting", f"reader_servers {exc}") from None
    integrations = _integrations(request)
    return check_connection(server, integrations.local_root, integrations.make_client)


@router.post("/integrations/notify/test", summary="Send a test notification to every URL")
def send_test_message(request: Request) -> dict[str, Any]:
    if not service_of(request).settings.notify_urls:
        raise ApiError(409, "no_urls", "no notification URL is set")
    return {"results": _integrations(request).notifier.send_test()}


@router.get("/check", summary="What would make a reader split a series, per folder")
def get_check(
    request: Request, folder: Annotated[str | None, Query(max_length=MAX_PATH)] = None
) -> dict[str, Any]:
    service = service_of(request)
    return check_library(service.settings.watched_dir, service.store, folder).to_json()


@router.post("/check/fix", status_code=202, summary="Run a finding's fix as a job over its folder")
def fix(request: Request, body: FixIn) -> dict[str, Any]:
    service = service_of(request)
    paths = tuple(folder_paths(service.store, body.folder.strip("/")))
    if not paths:
        raise ApiError(404, "not_found", f"no files in folder {body.folder!r}")
    if body.action == "tag_update" and not body.tags:
        raise ApiError(400, "bad_fix", "a tag fix needs the tags to set")
    spec = JobSpec(
        kind=JobKind(body.action), scope="selected", paths=paths, tags=body.tags if body.tags else {}
    )
    try:
        return service.engine.submit(spec)
    except JobError as exc:
        raise ApiError(400, "bad_job", str(exc)) from None


def _integrations(request: Request) -> Any:
    integrations = service_of(request).integrations
    if integrations is None:
        raise ApiError(409, "no_integrations", "reader servers and notifications are not running")
    return integrations


def _shown(request: Request) -> dict[str, Any]:
    service = service_of(request)
    settings = service.settings
    states = service.integrations.rescanner.states() if service.integrations is not None else []
    return {
        "reader_servers": mask_servers(settings.reader_servers),
        "reader_debounce": settings.reader_debounce,
        "notify_urls": mask_urls(settings.notify_urls),
        "notify_events": settings.notify_events,
        "notify_group_seconds": settings.notify_group_seconds,
        "server_states": states,
    }
