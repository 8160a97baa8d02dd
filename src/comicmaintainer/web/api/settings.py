"""Settings (validated, saved to config.json, live at once or listed in ``restart_required``), the file-name
preview, and preferences."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from comicmaintainer.config import EDITABLE_KEYS, ConfigError, Settings
from comicmaintainer.domain.naming import NamingRules, TemplateError, validate_template
from comicmaintainer.domain.plan import Tags, plan_file
from comicmaintainer.domain.templates import SETTING_OF_KIND, validate_title_template
from comicmaintainer.web.api import ERRORS, MAX_PATH, resolve, service_of
from comicmaintainer.web.app import ApiError

router = APIRouter(prefix="/api", tags=["settings"], responses=ERRORS)

SAMPLE_PATH = "Re_Zero/Re_Zero - Chapter 5.cbz"
# One name per kind of book, put in the sample's folder, for the preview of each kind's template.
KIND_SAMPLES = {
    "chapter": "Vol.2 Ch.5 - The Beginning.cbz",
    "volume": "Vol.3.cbz",
    "range": "c001-008.cbz",
    "part": "Ch.050 Part 2.cbz",
    "special": "Vol.10 Extra.cbz",
}
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
    volume_format: str
    range_format: str
    part_format: str
    special_format: str
    title_format: str
    volume_padding: int
    number_volumes: bool
    restart_required: list[str] = Field(
        default_factory=list,
        description="Settings saved with a new value that take effect only when the service restarts; "
        "every other setting took effect at once",
    )


Template = Annotated[str, Field(min_length=1, max_length=500)]


class KindTemplatesIn(BaseModel):
    """The templates per kind of book (domain/templates.py), in a change and in a preview."""

    volume_format: Template | None = None
    range_format: Template | None = None
    part_format: Template | None = None
    special_format: Template | None = None
    title_format: Template | None = None
    volume_padding: Annotated[int, Field(ge=0, le=10)] | None = None


class SettingsIn(KindTemplatesIn):
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
    number_volumes: bool | None = None


class PreviewIn(KindTemplatesIn):
    """The templates to try; those left out are the ones in use."""

    filename_format: Template
    issue_padding: Annotated[int, Field(ge=0, le=10)] = 4
    path: Annotated[str, Field(min_length=1, max_length=MAX_PATH)] | None = None


class KindPreview(BaseModel):
    kind: str
    path: str
    name: str
    title: str | None


class PreviewOut(BaseModel):
    name: str
    path: str
    kinds: list[KindPreview] = []


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


@router.post("/settings/preview", response_model=PreviewOut, summary="The file names the templates give")
def preview_name(request: Request, body: PreviewIn) -> dict[str, Any]:
    """From the file's name and folder only (no archive is opened), like a first run would see it;
    ``kinds`` shows one example of each kind of book in the same folder."""
    service = service_of(request)
    rel = SAMPLE_PATH
    if body.path is not None:
        resolve(service, body.path)
        rel = body.path
    try:
        rules = _preview_rules(service.settings, body)
        plan = plan_file(rel, Tags(), rules)
        folder = rel.rpartition("/")[0] or SAMPLE_PATH.rpartition("/")[0]
        kinds = [_kind_preview(kind, f"{folder}/{name}", rules) for kind, name in KIND_SAMPLES.items()]
    except TemplateError as exc:
        raise ApiError(400, "bad_template", str(exc)) from None
    target = plan.new_rel_path or rel
    return {"name": target.rpartition("/")[2], "path": rel, "kinds": kinds}


def _preview_rules(settings: Settings, body: PreviewIn) -> NamingRules:
    """The rules in use with what the body changes, each template checked for its kind."""
    given = body.model_dump(exclude_none=True)
    for kind, key in SETTING_OF_KIND.items():
        validate_template(given.get(key, getattr(settings, key)), kind)
    validate_title_template(given.get("title_format", settings.title_format))
    merged = dataclasses.replace(
        settings, **{k: v for k, v in given.items() if k in EDITABLE_KEYS and k != "path"}
    )
    return merged.naming


def _kind_preview(kind: str, rel: str, rules: NamingRules) -> dict[str, Any]:
    plan = plan_file(rel, Tags(), rules)
    target = plan.new_rel_path or rel
    return {"kind": kind, "path": rel, "name": target.rpartition("/")[2], "title": plan.tags_after.title}


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
