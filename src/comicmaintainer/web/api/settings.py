"""Settings (validated, saved to config.json, live at once or listed in ``restart_required``), the file-name
preview, and preferences."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from comicmaintainer.config import EDITABLE_KEYS, ConfigError, Settings
from comicmaintainer.domain.naming import NamingRules, TemplateError, validate_template
from comicmaintainer.domain.plan import Tags, plan_file
from comicmaintainer.web.api import ERRORS, MAX_PATH, resolve, service_of
from comicmaintainer.web.app import ApiError

router = APIRouter(prefix="/api", tags=["settings"], responses=ERRORS)

SAMPLE_PATH = "Re_Zero/Re_Zero - Chapter 5.cbz"
PREFERENCES_SCOPE = "preferences"
FilterName = Literal["all", "processed", "unprocessed", "duplicates", "needs_attention"]


class SettingsOut(BaseModel):
    filename_format: str
    issue_padding: int
    watcher_enabled: bool
    watcher_polling: bool
    polling_interval: float
    quiet_period: float
    log_max_bytes: int
    convert_cbr_to_cbz: bool
    job_retention_days: int
    restart_required: list[str] = Field(
        default_factory=list,
        description="Settings saved with a new value that take effect only when the service restarts; "
        "every other setting took effect at once",
    )


class SettingsIn(BaseModel):
    """Only the keys given change; the ranges are checked again by config.save_config."""

    model_config = ConfigDict(extra="forbid")
    filename_format: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    issue_padding: Annotated[int, Field(ge=0, le=10)] | None = None
    watcher_enabled: bool | None = None
    watcher_polling: bool | None = None
    polling_interval: Annotated[float, Field(ge=1, le=3600)] | None = None
    quiet_period: Annotated[float, Field(ge=0, le=3600)] | None = None
    log_max_bytes: Annotated[int, Field(ge=64 * 1024, le=1024**3)] | None = None
    convert_cbr_to_cbz: bool | None = None
    job_retention_days: Annotated[int, Field(ge=0, le=3650)] | None = None


class PreviewIn(BaseModel):
    filename_format: Annotated[str, Field(min_length=1, max_length=500)]
    issue_padding: Annotated[int, Field(ge=0, le=10)] = 4
    path: Annotated[str, Field(min_length=1, max_length=MAX_PATH)] | None = None


class PreviewOut(BaseModel):
    name: str
    path: str


class Preferences(BaseModel):
    theme: Literal["light", "dark"] = "light"
    per_page: Annotated[int, Field(ge=10, le=500)] = 100
    last_filter: FilterName = "all"


class PreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    theme: Literal["light", "dark"] | None = None
    per_page: Annotated[int, Field(ge=10, le=500)] | None = None
    last_filter: FilterName | None = None


def editable(settings: Settings) -> dict[str, Any]:
    return {key: getattr(settings, key) for key in EDITABLE_KEYS}


def _answer(service: Any) -> dict[str, Any]:
    return {**editable(service.settings), "restart_required": service.restart_required()}


@router.get("/settings", response_model=SettingsOut, summary="The settings a person may edit")
def get_settings(request: Request) -> dict[str, Any]:
    return _answer(service_of(request))


@router.put(
    "/settings",
    response_model=SettingsOut,
    summary="Change some settings; they apply at once, except those listed in restart_required",
)
def put_settings(request: Request, body: SettingsIn) -> dict[str, Any]:
    service = service_of(request)
    changes = body.model_dump(exclude_none=True)
    try:
        if changes:
            service.update_settings(changes)
    except ConfigError as exc:
        raise ApiError(400, "bad_setting", str(exc)) from None
    return _answer(service)


@router.post("/settings/preview", response_model=PreviewOut, summary="The file name a template gives a file")
def preview_name(request: Request, body: PreviewIn) -> dict[str, Any]:
    """From the file's name and folder only (no archive is opened), like a first run would see it."""
    rel = SAMPLE_PATH
    if body.path is not None:
        resolve(service_of(request), body.path)
        rel = body.path
    try:
        validate_template(body.filename_format)
        plan = plan_file(rel, Tags(), NamingRules(body.filename_format, body.issue_padding))
    except TemplateError as exc:
        raise ApiError(400, "bad_template", str(exc)) from None
    target = plan.new_rel_path or rel
    return {"name": target.rpartition("/")[2], "path": rel}


@router.get("/preferences", response_model=Preferences, summary="The page's preferences, kept server-side")
def get_preferences(request: Request) -> dict[str, Any]:
    return _preferences(request)


@router.put("/preferences", response_model=Preferences, summary="Change some preferences")
def put_preferences(request: Request, body: PreferencesIn) -> dict[str, Any]:
    store = service_of(request).store
    for key, value in body.model_dump(exclude_none=True).items():
        store.set_kv(PREFERENCES_SCOPE, key, value)
    return _preferences(request)


def _preferences(request: Request) -> dict[str, Any]:
    stored = service_of(request).store.get_kv(PREFERENCES_SCOPE)
    merged = Preferences().model_dump()
    merged.update({key: value for key, value in stored.items() if key in merged})
    return Preferences.model_validate(merged).model_dump()
