"""What a job is, as data: its kind, which files it covers, and who asked for it.

Web handlers, the CLI and the watcher build a `JobSpec` and hand it to the engine; nothing else
describes work. `build_job` checks a spec and turns it into what the store keeps (`JobError`, one
plain line, when it cannot be met). The JSON shapes the API returns for a job and an item are built
here too, from the store's rows, so that every front shows the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from comicmaintainer.library.edit import FIELDS
from comicmaintainer.library.paths import PathError, resolve_inside
from comicmaintainer.library.store import (
    ACTIVE_ITEM_STATUSES,
    FINAL_JOB_STATUSES,
    ItemStatus,
    JobItemRow,
    JobKind,
    JobRow,
    NewJob,
)

Scope = Literal["all", "selected", "unprocessed"]
Source = Literal["web", "watcher", "cli"]

JOB_KINDS: tuple[JobKind, ...] = tuple(JobKind)
SCOPES: tuple[str, ...] = ("all", "selected", "unprocessed")
SOURCES: tuple[str, ...] = ("web", "watcher", "cli")
# Job and item statuses and job kinds are defined once, in library/store/statuses.py.
FINAL_STATUSES = FINAL_JOB_STATUSES
ITEM_RUNNING = ACTIVE_ITEM_STATUSES

# The pipeline mode each file-processing kind runs; tag_update goes through library.edit instead.
PROCESS_MODES: Mapping[str, str] = {
    JobKind.PROCESS: "full",
    JobKind.RENAME: "rename",
    JobKind.NORMALIZE: "normalize",
}


class JobError(Exception):
    """A job request that cannot be met; ``str()`` is one plain line (HTTP 400)."""


class NotFound(JobError):
    """No such job (HTTP 404)."""


class Conflict(JobError):
    """The job is not in a state that allows this (HTTP 409)."""


@dataclass(frozen=True)
class JobSpec:
    kind: JobKind
    scope: Scope = "selected"
    paths: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)  # tag_update: field -> value; empty = leave as is
    source: Source = "web"
    retry_of: int | None = None

    @property
    def priority(self) -> int:
        """Lower runs first: what a person asked for goes before the watcher's background work."""
        return 1 if self.source == "watcher" else 0


def job_json(row: JobRow) -> dict[str, Any]:
    """The API's ``Job`` shape (docs/API.md)."""
    return {
        "id": row.id,
        "kind": row.kind,
        "scope": row.scope,
        "status": row.status,
        "total": row.total,
        "processed": row.processed,
        "succeeded": row.succeeded,
        "failed": row.failed,
        "skipped": row.skipped,
        "percentage": percentage(row.processed, row.total),
        "current_file": row.current_file,
        "stage": row.stage,
        "eta_seconds": row.eta_seconds,
        "created_at": row.created_at,
        "started_at": row.started_at,
        "finished_at": row.finished_at,
        "retry_of": row.retry_of,
        "source": row.source,
    }


def item_json(row: JobItemRow, status: ItemStatus | str | None = None) -> dict[str, Any]:
    """The API's ``Item`` shape; ``status`` overrides the stored one with a live stage."""
    return {
        "id": row.id,
        "job_id": row.job_id,
        "path": row.path,
        "status": status or row.status,
        "error": row.error,
        "result": row.result,
    }


def percentage(processed: int, total: int) -> float:
    """0–100 with one decimal; an empty job is 100% done."""
    return 100.0 if total == 0 else round(100.0 * processed / total, 1)


def build_job(spec: JobSpec, watched_dir: Path) -> NewJob:
    """What the store keeps for ``spec``; raises `JobError` (one plain line) for a bad request."""
    if spec.kind not in JOB_KINDS:
        raise JobError(f"unknown job kind {spec.kind!r}; expected one of {', '.join(JOB_KINDS)}")
    if spec.scope not in SCOPES:
        raise JobError(f"unknown scope {spec.scope!r}; expected one of {', '.join(SCOPES)}")
    if spec.source not in SOURCES:
        raise JobError(f"unknown source {spec.source!r}; expected one of {', '.join(SOURCES)}")
    tags = _tag_changes(spec) if spec.kind == "tag_update" else {}
    paths: tuple[str, ...] = ()
    refused: tuple[tuple[str, str], ...] = ()
    if spec.scope == "selected":
        paths, refused = _check_paths(spec.paths, watched_dir)
    return NewJob(
        kind=spec.kind, scope=spec.scope, source=spec.source, priority=spec.priority, tags=tags,
        paths=paths, refused=refused, select=None if spec.scope == "selected" else spec.scope,
        retry_of=spec.retry_of,
    )  # fmt: skip


def _check_paths(
    paths: tuple[str, ...], watched_dir: Path
) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """Files present in the library, and the refused ones with why (they become failed items)."""
    if isinstance(paths, str) or not paths:
        raise JobError("no files selected: give at least one path")
    good: list[str] = []
    refused: list[tuple[str, str]] = []
    for rel in dict.fromkeys(paths):  # each file once, in the order given
        if not isinstance(rel, str):
            raise JobError(f"a path must be text, got {type(rel).__name__}")
        try:
            exists = resolve_inside(watched_dir, rel).is_file()
        except PathError as exc:
            refused.append((rel, str(exc)))
            continue
        if exists:
            good.append(rel)
        else:
            refused.append((rel, f"no such file in the library: {rel}"))
    return tuple(good), tuple(refused)


def _tag_changes(spec: JobSpec) -> dict[str, str]:
    """The fields a batch tag update sets: empty values mean "leave as is" and are dropped."""
    unknown = sorted(set(spec.tags) - set(FIELDS))
    if unknown:
        raise JobError(f"unknown ComicInfo field: {', '.join(map(str, unknown))}")
    tags = {name: str(value).strip() for name, value in spec.tags.items() if value and str(value).strip()}
    if not tags:
        raise JobError("a tag update needs at least one field with a value")
    return tags
