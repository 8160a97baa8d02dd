"""The job engine: persistent batch jobs run by a small pool of worker threads.

Promises, and how they are kept:

* **Stored before work.** `submit` writes the job and every item in one transaction first.
* **The queue is the database.** A worker claims the next queued item (by priority: what a person
  asked for before the watcher's work, then job order, then item order) in one write transaction that
  also marks it ``reading``. Nothing is lost if the process dies: a claimed item is visible as such.
* **Every item through the one pipeline.** `library.process.process` (or `library.edit` for tag
  updates) under the shared per-path lock, so two workers, the watcher or the CLI never touch one file
  at once.
* **Cancel** marks queued items cancelled in one statement; items in flight finish cleanly.
* **Restart.** `start` puts items a dead process had claimed back in the queue and runs them again.
  The pipeline is idempotent (a done file comes back ``unchanged``), and a file the interrupted run
  already renamed is found through the history actions recorded for its old path, so no item is
  renamed twice and none is reported as vanished.
* **Progress** lives in memory per running job and is written to the jobs table at most every
  `PROGRESS_INTERVAL` seconds (always for a final state); every change goes on the bus as `JobUpdated`,
  stage-only changes at most every `STAGE_PUBLISH_INTERVAL`, and each item outcome as `JobItem`.

One engine per database: `start` assumes no other process is running items of the same store.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from comicmaintainer.jobs.events import EventBus, JobItem, JobUpdated
from comicmaintainer.jobs.model import (
    JOB_KINDS,
    PROCESS_MODES,
    SCOPES,
    SOURCES,
    JobSpec,
    item_json,
    job_json,
    percentage,
)
from comicmaintainer.library.edit import FIELDS, apply_tag_changes
from comicmaintainer.library.paths import PathError, resolve_inside
from comicmaintainer.library.process import Context, Stage, process
from comicmaintainer.library.store import JobItemRow, JobRow, JobStore, NewJob
from comicmaintainer.metadata.job import run_match_item

log = logging.getLogger("comicmaintainer.jobs")

PROGRESS_INTERVAL = 0.25  # seconds between progress rows of one job (final states are always written)
STAGE_PUBLISH_INTERVAL = 0.05  # seconds between stage-only JobUpdated events of one job
ETA_WINDOW = 20  # item durations in the moving average
IDLE_WAIT = 1.0  # a worker with nothing to do looks at the queue again after this long anyway
PURGE_EVERY = 24 * 3600.0
_MAX_MOVE_HOPS = 8  # a file renamed again and again by interrupted runs is followed this far

# Pipeline outcome -> item status. needs_attention is a failure of the item: the file needs a person.
_ITEM_STATUS = {
    "processed": "done",
    "duplicate": "done",
    "unchanged": "skipped",
    "needs_attention": "failed",
    "failed": "failed",
}


class JobError(Exception):
    """A job request that cannot be met; ``str()`` is one plain line (HTTP 400)."""


class NotFound(JobError):
    """No such job (HTTP 404)."""


class Conflict(JobError):
    """The job is not in a state that allows this (HTTP 409)."""


@dataclass
class _Live:
    """A job some item of which may still run: its counters are kept here and flushed to the store."""

    row: JobRow
    processed: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    cancelled: int = 0
    in_flight: int = 0
    cancel_requested: bool = False
    started_at: float | None = None
    current_file: str | None = None
    stage: str | None = None
    durations: deque[float] = field(default_factory=lambda: deque(maxlen=ETA_WINDOW))
    flushed_at: float = 0.0
    published_at: float = 0.0

    @property
    def finished(self) -> bool:
        return self.in_flight == 0 and self.processed + self.cancelled >= self.row.total

    def status(self) -> str:
        if not self.finished:
            if self.cancel_requested:
                return "cancelled"
            return "running" if self.started_at is not None else "queued"
        if self.cancel_requested:
            return "cancelled"
        return "failed" if self.failed else "completed"

    def eta(self, workers: int) -> float | None:
        remaining = self.row.total - self.processed - self.cancelled
        if not self.durations or remaining <= 0:
            return None
        average = sum(self.durations) / len(self.durations)
        return round(average * remaining / max(1, min(workers, remaining)), 1)


class JobEngine:
    """Submit, watch, cancel, retry and delete jobs; see the module docstring."""

    def __init__(self, ctx: Context, bus: EventBus, *, workers: int | None = None) -> None:
        self._ctx = ctx
        self._bus = bus
        self._jobs = JobStore(ctx.store)
        self._worker_count = max(1, workers if workers is not None else ctx.settings.max_workers)
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._live: dict[int, _Live] = {}
        self._stages: dict[int, str] = {}  # item id -> stage, for items in flight
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- life cycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Resume what a previous run left unfinished, then start the workers. Idempotent."""
        if self._threads:
            return
        self._stopping.clear()
        self.purge_older_than(self._ctx.settings.job_retention_days)
        resumed = self._jobs.requeue_interrupted()
        if resumed:
            log.info("resuming %d job items interrupted by the last stop", resumed)
        for row in self._jobs.unfinished_jobs():
            with self._lock:
                self._adopt(row)
        for n in range(self._worker_count):
            self._spawn(self._work, f"job-worker-{n + 1}")
        self._spawn(self._purge_daily, "job-retention")

    def stop(self, timeout: float = 10) -> None:
        """Stop taking items; items in flight finish. Waits up to ``timeout`` seconds in all."""
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = [thread for thread in self._threads if thread.is_alive()]
        if self._threads:
            log.warning("%d job threads still busy after %.0f s", len(self._threads), timeout)

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # -- requests --------------------------------------------------------------------------------

    def submit(self, spec: JobSpec) -> dict[str, Any]:
        """Store the job and all its items, then let the workers at it; returns the Job."""
        new_job = self._new_job(spec)
        job_id = self._jobs.create_job(new_job)
        row = self._row(job_id)
        for item in self._jobs.list_items(job_id, status="failed", limit=len(new_job.refused)):
            self._bus.publish(JobItem(job_id, item.id, item.path, "failed", error=item.error))
        with self._wake:
            live = self._adopt(row)
            if not live.finished:  # a finished one has published its final state already
                self._publish(live)
            self._wake.notify_all()
        return self.get(job_id)

    def get(self, job_id: int) -> dict[str, Any]:
        with self._lock:
            live = self._live.get(job_id)
            if live is not None:
                return self._live_json(live)
        return job_json(self._row(job_id))

    def items(self, job_id: int, status: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
        """The job's items in queue order; items in flight show their current stage."""
        self._row(job_id)
        rows = self._jobs.list_items(job_id, status=status, limit=limit)
        with self._lock:
            stages = {row.id: self._stages.get(row.id) for row in rows}
        return [item_json(row, stages[row.id]) for row in rows]

    def cancel(self, job_id: int) -> dict[str, Any]:
        """Queued items are cancelled and never run; items in flight finish. Cancelling twice is fine."""
        with self._lock:
            live = self._live.get(job_id)
            if live is not None:
                live.cancelled += self._jobs.cancel_queued(job_id)
                live.cancel_requested = True
                self._progress(live, force=True)
                return self._live_json(live)
        row = self._row(job_id)
        if row.status != "cancelled":
            raise Conflict(f"job {job_id} is already {row.status}")
        return job_json(row)

    def retry(self, job_id: int) -> dict[str, Any]:
        """Run the failed items of a finished job again, as a new job linked by ``retry_of``."""
        row = self._row(job_id)
        with self._lock:
            if job_id in self._live:
                raise Conflict(f"job {job_id} is still running; retry it when it has finished")
        paths = tuple(item.path for item in self._jobs.list_items(job_id, status="failed", limit=row.total))
        if not paths:
            raise Conflict(f"job {job_id} has no failed items to retry")
        source = "web" if row.source == "watcher" else row.source  # a person asked for the retry
        spec = JobSpec(row.kind, "selected", paths, row.tags, source, retry_of=job_id)  # type: ignore[arg-type]
        return self.submit(spec)

    def delete(self, job_id: int) -> None:
        """Delete a finished job and its items."""
        with self._lock:
            running = job_id in self._live
        if running or not self._jobs.delete_job(job_id):
            row = self._row(job_id)  # NotFound when there is no such job
            raise Conflict(f"job {job_id} is {row.status}; only a finished job can be deleted")

    def purge_older_than(self, days: float) -> int:
        """Delete jobs that finished more than ``days`` ago; returns how many."""
        purged = self._jobs.purge_jobs(time.time() - days * 86400)
        if purged:
            log.info("deleted %d jobs finished more than %s days ago", purged, days)
        return purged

    def list(self, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Newest first; running jobs show their live counters."""
        rows = self._jobs.list_jobs(status=status, limit=limit)
        with self._lock:
            return [self._live_json(self._live[r.id]) if r.id in self._live else job_json(r) for r in rows]

    # -- building a job --------------------------------------------------------------------------

    def _new_job(self, spec: JobSpec) -> NewJob:
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
            paths, refused = self._check_paths(spec.paths)
        return NewJob(
            kind=spec.kind, scope=spec.scope, source=spec.source, priority=spec.priority, tags=tags,
            paths=paths, refused=refused, select=None if spec.scope == "selected" else spec.scope,
            retry_of=spec.retry_of,
        )  # fmt: skip

    def _check_paths(self, paths: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
        """Files present in the library, and the refused ones with why (they become failed items)."""
        if isinstance(paths, str) or not paths:
            raise JobError("no files selected: give at least one path")
        good: list[str] = []
        refused: list[tuple[str, str]] = []
        for rel in dict.fromkeys(paths):  # each file once, in the order given
            if not isinstance(rel, str):
                raise JobError(f"a path must be text, got {type(rel).__name__}")
            try:
                exists = resolve_inside(self._ctx.settings.watched_dir, rel).is_file()
            except PathError as exc:
                refused.append((rel, str(exc)))
                continue
            if exists:
                good.append(rel)
            else:
                refused.append((rel, f"no such file in the library: {rel}"))
        return tuple(good), tuple(refused)

    # -- live state (callers hold self._lock) ----------------------------------------------------

    def _adopt(self, row: JobRow) -> _Live:
        """Track a stored unfinished job from its items' statuses; finish it at once if nothing is left."""
        if row.id in self._live:  # a worker claimed its first item before submit got here
            return self._live[row.id]
        counts = self._jobs.item_counts(row.id)
        live = _Live(
            row=row, succeeded=counts.get("done", 0), failed=counts.get("failed", 0),
            skipped=counts.get("skipped", 0), cancelled=counts.get("cancelled", 0),
            cancel_requested=row.status == "cancelled", started_at=row.started_at,
        )  # fmt: skip
        live.processed = live.succeeded + live.failed + live.skipped
        self._live[row.id] = live
        if live.finished:
            self._progress(live, force=True)
        return live

    def _progress(self, live: _Live, *, force: bool = False, store: bool = True) -> None:
        """Publish the job's state; store it when forced, final, or the last row is old enough."""
        now = time.monotonic()
        final = live.finished
        if store and (force or final or now - live.flushed_at >= PROGRESS_INTERVAL):
            live.flushed_at = now
            self._jobs.save_progress(live.row.id, self._snapshot(live))
        if final:
            del self._live[live.row.id]
        live.published_at = now
        self._publish(live)

    def _snapshot(self, live: _Live) -> dict[str, Any]:
        final = live.finished
        return {
            "status": live.status(),
            "processed": live.processed,
            "succeeded": live.succeeded,
            "failed": live.failed,
            "skipped": live.skipped,
            "current_file": None if final else live.current_file,
            "stage": None if final else live.stage,
            "eta_seconds": None if final else live.eta(self._worker_count),
            "finished_at": time.time() if final else None,
        }

    def _publish(self, live: _Live) -> None:
        snap = self._snapshot(live)
        self._bus.publish(
            JobUpdated(
                job_id=live.row.id, status=snap["status"], processed=live.processed, total=live.row.total,
                succeeded=live.succeeded, failed=live.failed, skipped=live.skipped,
                percentage=percentage(live.processed, live.row.total), current_file=snap["current_file"],
                stage=snap["stage"], eta_seconds=snap["eta_seconds"],
            )
        )  # fmt: skip

    def _live_json(self, live: _Live) -> dict[str, Any]:
        snap = self._snapshot(live)
        data = job_json(live.row)
        data.update({key: snap[key] for key in snap if key != "finished_at"})
        data["percentage"] = percentage(live.processed, live.row.total)
        data["started_at"] = live.started_at
        return data

    def _row(self, job_id: int) -> JobRow:
        row = self._jobs.get_job(job_id)
        if row is None:
            raise NotFound(f"there is no job {job_id}")
        return row

    # -- workers ---------------------------------------------------------------------------------

    def _work(self) -> None:
        while not self._stopping.is_set():
            try:
                claimed = self._claim()
                if claimed is not None:
                    self._run(*claimed)
            except Exception:  # a worker must outlive any one bad item or a database hiccup
                log.exception("job worker error")
                self._stopping.wait(IDLE_WAIT)

    def _claim(self) -> tuple[JobItemRow, _Live] | None:
        with self._wake:
            item = self._jobs.claim_next_item()
            if item is None:
                self._wake.wait(IDLE_WAIT)
                return None
            live = self._live.get(item.job_id)
            if live is None:  # a job another process stored in this database after our start
                live = self._adopt(self._row(item.job_id))
            live.in_flight += 1
            live.started_at = live.started_at or time.time()
            live.current_file, live.stage = item.path, "reading"
            self._stages[item.id] = "reading"
            self._progress(live, store=False)
            return item, live

    def _run(self, item: JobItemRow, live: _Live) -> None:
        started = time.monotonic()
        try:
            status, error, result = self._execute(item, live)
        except Exception as exc:
            log.exception("job %s item %s (%s) failed", item.job_id, item.id, item.path)
            status, error, result = "failed", " ".join(str(exc).split()) or type(exc).__name__, None
        try:
            self._jobs.finish_item(item.id, status, error, result)
        finally:
            self._record(item, live, status, error, result, time.monotonic() - started)

    def _record(
        self, item: JobItemRow, live: _Live, status: str, error: str | None, result: dict[str, Any] | None,
        duration: float,
    ) -> None:  # fmt: skip
        before = result.get("tags_before") if result else None
        after = result.get("tags_after") if result else None
        with self._lock:
            self._stages.pop(item.id, None)
            live.in_flight -= 1
            live.processed += 1
            live.succeeded += status == "done"
            live.failed += status == "failed"
            live.skipped += status == "skipped"
            live.durations.append(duration)
            self._bus.publish(JobItem(item.job_id, item.id, item.path, status, error, before, after))
            self._progress(live)

    def _on_stage(self, item: JobItemRow, live: _Live, stage: Stage) -> None:
        with self._lock:
            self._stages[item.id] = stage
            live.current_file, live.stage = item.path, stage
            if time.monotonic() - live.published_at >= STAGE_PUBLISH_INTERVAL:
                self._progress(live, store=False)

    # -- one item --------------------------------------------------------------------------------

    def _execute(self, item: JobItemRow, live: _Live) -> tuple[str, str | None, dict[str, Any] | None]:
        rel = self._locate(item.path, live.row.created_at)
        earlier = item.attempts > 1 and self._earlier_change(item.path, live.row.created_at)
        if live.row.kind == "tag_update":
            result = self._edit(item, rel, live)
        elif live.row.kind == "match":  # series metadata: metadata/job.py does the work
            result = run_match_item(rel, self._ctx, _bound_stage(self, item, live))
        else:
            force = live.row.scope == "selected" and live.row.source != "watcher"  # a person chose the file
            mode = PROCESS_MODES[live.row.kind]
            stage = _bound_stage(self, item, live)
            result = process(rel, self._ctx, mode=mode, force=force, on_stage=stage).to_json()  # type: ignore[arg-type]
        if rel != item.path:
            result["path"], result["new_path"] = item.path, result.get("new_path") or rel
        if earlier and result["outcome"] == "unchanged":
            # The interrupted run made the change; this run only found it done.
            result["outcome"] = "processed"
            result["message"] = "finished by the run interrupted before a restart"
        status = _ITEM_STATUS[result["outcome"]]
        return status, result.get("message") if status == "failed" else None, result

    def _edit(self, item: JobItemRow, rel: str, live: _Live) -> dict[str, Any]:
        self._on_stage(item, live, "tagging")
        outcome = apply_tag_changes(rel, live.row.tags, self._ctx)
        return {
            "path": rel, "outcome": "processed" if outcome.changed else "unchanged", "new_path": None,
            "tags_before": outcome.before, "tags_after": outcome.after, "message": None,
            "action_id": outcome.action_id,
        }  # fmt: skip

    def _locate(self, rel: str, since: float) -> str:
        """Where the item's file is now: its own path, or where an interrupted run renamed it."""
        root = self._ctx.settings.watched_dir
        for _ in range(_MAX_MOVE_HOPS):
            if _is_file(root, rel):
                return rel
            moved = next(
                (a.new_path for a in self._jobs.actions_from(rel, since)
                 if a.kind == "process" and a.new_path and a.new_path != rel and _is_file(root, a.new_path)),
                None,
            )  # fmt: skip
            if moved is None:
                return rel  # the pipeline reports the file as vanished, in its own words
            if self._ctx.store.get_file(moved) is None:
                self._ctx.store.move_file(rel, moved)  # the run died before the store heard of the rename
            log.info("%s was renamed to %s by an interrupted run; continuing there", rel, moved)
            rel = moved
        return rel

    def _earlier_change(self, rel: str, since: float) -> bool:
        return any(a.kind in ("process", "edit") for a in self._jobs.actions_from(rel, since))

    def _purge_daily(self) -> None:
        while not self._stopping.wait(PURGE_EVERY):
            try:
                self.purge_older_than(self._ctx.settings.job_retention_days)
            except Exception:
                log.exception("job retention failed")


def _bound_stage(engine: JobEngine, item: JobItemRow, live: _Live) -> Callable[[Stage], None]:
    return lambda stage: engine._on_stage(item, live, stage)


def _is_file(root: Any, rel: str) -> bool:
    try:
        return resolve_inside(root, rel).is_file()
    except PathError:
        return False


def _tag_changes(spec: JobSpec) -> dict[str, str]:
    """The fields a batch tag update sets: empty values mean "leave as is" and are dropped."""
    unknown = sorted(set(spec.tags) - set(FIELDS))
    if unknown:
        raise JobError(f"unknown ComicInfo field: {', '.join(map(str, unknown))}")
    tags = {name: str(value).strip() for name, value in spec.tags.items() if value and str(value).strip()}
    if not tags:
        raise JobError("a tag update needs at least one field with a value")
    return tags
