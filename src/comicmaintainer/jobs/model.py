"""What a job is, as data: its kind, which files it covers, and who asked for it.

Web handlers, the CLI and the watcher build a `JobSpec` and hand it to the engine; nothing else
describes work. The JSON shapes the API returns for a job and an item are built here too, from the
store's rows, so that every front shows the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from comicmaintainer.library.store import JobItemRow, JobRow

JobKind = Literal["process", "rename", "normalize", "tag_update", "match"]
Scope = Literal["all", "selected", "unprocessed"]
Source = Literal["web", "watcher", "cli"]

JOB_KINDS: tuple[str, ...] = ("process", "rename", "normalize", "tag_update", "match")
SCOPES: tuple[str, ...] = ("all", "selected", "unprocessed")
SOURCES: tuple[str, ...] = ("web", "watcher", "cli")
# "failed": the job ran to its end but at least one item failed (retry re-runs those).
FINAL_STATUSES = frozenset({"completed", "cancelled", "failed"})
ITEM_RUNNING = ("reading", "tagging", "renaming")

# The pipeline mode each file-processing kind runs; tag_update goes through library.edit instead.
PROCESS_MODES: Mapping[str, str] = {"process": "full", "rename": "rename", "normalize": "normalize"}


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


def item_json(row: JobItemRow, status: str | None = None) -> dict[str, Any]:
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
