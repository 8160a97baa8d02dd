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
* **Two jobs, one file.** Items of different jobs on one path run one after the other, and a file
  another job renamed or set aside is followed to where it went (jobs/locate.py): the item ends
  ``skipped``, "already processed by job N", never as a vanished file.
* **Restart.** `start` puts items a dead process had claimed back in the queue and runs them again.
  The pipeline is idempotent (a done file comes back ``unchanged``), and a file the interrupted run
  already renamed is found through the history actions recorded for its old path, so no item is
  renamed twice and none is reported as vanished.
* **Progress** lives in memory per running job and is written to the jobs table at most every
  `PROGRESS_INTERVAL` seconds (always for a final state); every change goes on the bus as `JobUpdated`,
  stage-only changes at most every `STAGE_PUBLISH_INTERVAL`, and each item outcome as `JobItem`.
* **No I/O under the engine's lock.** The lock guards the in-memory counters only; claims, item
  outcomes and progress rows are written outside it. Another process holding the database (the CLI,
  for up to the 30 s busy timeout) delays the workers' writes, never a request that reads a job.

One engine per database: `start` assumes no other process is running items of the same store.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from comicmaintainer.jobs.events import EventBus, JobItem, JobUpdated
from comicmaintainer.jobs.live import Live
from comicmaintainer.jobs.locate import Found, Trail, locate, move_of_result
from comicmaintainer.jobs.model import (
    PROCESS_MODES,
    Conflict,
    JobError,
    JobSpec,
    NotFound,
    build_job,
    item_json,
    job_json,
)
from comicmaintainer.library.edit import apply_tag_changes
from comicmaintainer.library.process import Context, Stage, process
from comicmaintainer.library.store import ItemStatus, JobItemRow, JobRow, JobStore
from comicmaintainer.metadata.job import run_match_item

log = logging.getLogger("comicmaintainer.jobs")

__all__ = ["Conflict", "JobEngine", "JobError", "NotFound"]  # the errors live in model.py

PROGRESS_INTERVAL = 0.25  # seconds between progress rows of one job (final states are always written)
STAGE_PUBLISH_INTERVAL = 0.05  # seconds between stage-only JobUpdated events of one job
IDLE_WAIT = 1.0  # a worker with nothing to do looks at the queue again after this long anyway
PURGE_EVERY = 24 * 3600.0

# Pipeline outcome -> item status. needs_attention is a failure of the item: the file needs a person.
_ITEM_STATUS = {
    "processed": ItemStatus.DONE,
    "duplicate": ItemStatus.DONE,
    "unchanged": ItemStatus.SKIPPED,
    "needs_attention": ItemStatus.FAILED,
    "failed": ItemStatus.FAILED,
}

# A progress row to store once the engine's lock is released: (job, its number, the row).
# A progress row to store after the lock is released, and the final event to publish once it is.
_Write = tuple[Live, int, dict[str, Any], JobUpdated | None] | None


class JobEngine:
    """Submit, watch, cancel, retry and delete jobs; see the module docstring."""

    def __init__(self, ctx: Context, bus: EventBus, *, workers: int | None = None) -> None:
        self._ctx = ctx
        self._bus = bus
        self._jobs = JobStore(ctx.store)
        self._worker_count = max(1, workers if workers is not None else ctx.settings.max_workers)
        self._lock = threading.Lock()  # the in-memory state below; never held across I/O
        self._wake = threading.Condition(self._lock)
        self._submitted = 0  # counts submits, so a worker that just found the queue empty does not sleep
        self._live: dict[int, Live] = {}
        self._stages: dict[int, str] = {}  # item id -> stage, for items in flight
        self._trail = Trail()
        self._making: list[int] = []  # trail positions of jobs being stored (a worker may see them first)
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
            self._track(row)
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
        new_job = build_job(spec, self._ctx.settings.watched_dir)
        with self._lock:  # before the files are listed: see jobs/locate.py
            since_move = self._trail.position
            self._making.append(since_move)
        try:
            job_id = self._jobs.create_job(new_job)
            for item in self._jobs.list_items(job_id, status="failed", limit=len(new_job.refused)):
                self._bus.publish(JobItem(job_id, item.id, item.path, ItemStatus.FAILED, error=item.error))
            live = self._track(self._row(job_id), since_move)
        finally:
            with self._lock:
                self._making.remove(since_move)
        with self._wake:
            if not live.finished:  # a finished one has published its final state already
                self._bus.publish(live.event(self._worker_count))
            self._submitted += 1
            self._wake.notify_all()
        return self.get(job_id)

    def get(self, job_id: int) -> dict[str, Any]:
        with self._lock:
            live = self._live.get(job_id)
            if live is not None:
                return live.to_json(self._worker_count)
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
        if live is not None and not live.finished:
            cancelled = self._jobs.cancel_queued(job_id)
            with self._lock:
                live.cancelled += cancelled
                live.cancel_requested = True
                write = self._progress(live, force=True)
                answer = live.to_json(self._worker_count)
            self._save(write)
            return answer
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
            live = {r.id: self._live[r.id].to_json(self._worker_count) for r in rows if r.id in self._live}
        return [live.get(r.id) or job_json(r) for r in rows]

    # -- live state ------------------------------------------------------------------------------

    def _track(self, row: JobRow, since_move: int | None = None) -> Live:
        """The live state of a stored job, made from its items' statuses the first time."""
        with self._lock:
            live = self._live.get(row.id)
        if live is None:
            counts = self._jobs.item_counts(row.id)
            write = None
            with self._lock:
                live = self._live.get(row.id)  # a worker may have claimed an item of it meanwhile
                if live is None:
                    since_move = min(self._making, default=self._trail.position)
                    live = self._live[row.id] = Live.of(row, counts, since_move)
                    write = self._progress(live, force=True) if live.finished else None
            self._save(write)
        if since_move is not None:
            with self._lock:
                live.since_move = min(live.since_move, since_move)
        return live

    def _progress(self, live: Live, *, force: bool = False, store: bool = True) -> _Write:
        """(Under the lock.) Publish the job's state; return the row to store when forced, final, or
        when the last one is old enough. The caller stores it with `_save` after releasing the lock.
        A final state is published only once its row is stored, so that a listener that reads the
        job on its end (notifications, a page's reload) finds it ended."""
        now = time.monotonic()
        write: _Write = None
        event = live.event(self._worker_count)
        live.published_at = now
        if store and (force or live.finished or now - live.flushed_at >= PROGRESS_INTERVAL):
            live.flushed_at = now
            live.written += 1
            final = event if live.finished else None
            write = (live, live.written, live.snapshot(self._worker_count), final)
            if final is not None:
                return write
        self._bus.publish(event)
        return write

    def _save(self, write: _Write) -> None:
        """Store a progress row (not under the lock); a finished job then leaves the live table."""
        if write is None:
            return
        live, number, snapshot, final = write
        live.save(number, snapshot, self._jobs.save_progress)
        if final is not None:
            self._bus.publish(final)
        if snapshot["finished_at"] is not None:
            # Only now: until its final row is stored, `get` must answer from memory.
            with self._lock:
                if self._live.get(live.row.id) is live:
                    del self._live[live.row.id]

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

    def _claim(self) -> tuple[JobItemRow, Live] | None:
        with self._lock:
            submitted = self._submitted
        item = self._jobs.claim_next_item()
        if item is None:
            with self._wake:
                if submitted == self._submitted and not self._stopping.is_set():
                    self._wake.wait(IDLE_WAIT)
            return None
        with self._lock:
            live = self._live.get(item.job_id)
        if live is None:  # a job another process stored in this database after our start
            live = self._track(self._row(item.job_id))
        with self._lock:
            live.in_flight += 1
            live.started_at = live.started_at or time.time()
            live.current_file, live.stage = item.path, "reading"
            self._stages[item.id] = "reading"
            self._progress(live, store=False)
        return item, live

    def _run(self, item: JobItemRow, live: Live) -> None:
        started = time.monotonic()
        try:
            status, error, result = self._execute(item, live)
        except Exception as exc:
            log.exception("job %s item %s (%s) failed", item.job_id, item.id, item.path)
            status, error, result = ItemStatus.FAILED, " ".join(str(exc).split()) or type(exc).__name__, None
        try:
            self._jobs.finish_item(item.id, status, error, result)
        finally:
            self._record(item, live, status, error, result, time.monotonic() - started)

    def _record(
        self, item: JobItemRow, live: Live, status: ItemStatus, error: str | None,
        result: dict[str, Any] | None,
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
            write = self._progress(live)
        self._save(write)

    def _on_stage(self, item: JobItemRow, live: Live, stage: Stage) -> None:
        with self._lock:
            self._stages[item.id] = stage
            live.current_file, live.stage = item.path, stage
            if time.monotonic() - live.published_at >= STAGE_PUBLISH_INTERVAL:
                self._progress(live, store=False)

    # -- one item --------------------------------------------------------------------------------

    def _execute(self, item: JobItemRow, live: Live) -> tuple[ItemStatus, str | None, dict[str, Any] | None]:
        earlier = item.attempts > 1 and self._earlier_change(item.path, live.row.created_at)
        with self._trail.working(item.path, live.row.id):
            found = locate(
                item.path, root=self._ctx.settings.watched_dir, trail=self._trail,
                since_move=live.since_move, store=self._ctx.store, since=live.row.created_at,
            )  # fmt: skip
            if found.path is None:  # another job set it aside
                result = _handled_elsewhere(item.path)
            else:
                result = self._run_item(item, found.path, live)
                moved = move_of_result(result)
                if moved is not None:  # recorded before the path is released: see jobs/locate.py
                    self._trail.moved(found.path, moved[0], live.row.id, moved[1])
        return _item_outcome(item, found, result, earlier=earlier)

    def _run_item(self, item: JobItemRow, rel: str, live: Live) -> dict[str, Any]:
        if live.row.kind == "tag_update":
            return self._edit(item, rel, live)
        if live.row.kind == "match":  # series metadata: metadata/job.py does the work
            return run_match_item(rel, self._ctx, _bound_stage(self, item, live))
        force = live.row.scope == "selected" and live.row.source != "watcher"  # a person chose the file
        mode = PROCESS_MODES[live.row.kind]
        stage = _bound_stage(self, item, live)
        return process(rel, self._ctx, mode=mode, force=force, on_stage=stage).to_json()  # type: ignore[arg-type]

    def _edit(self, item: JobItemRow, rel: str, live: Live) -> dict[str, Any]:
        self._on_stage(item, live, "tagging")
        outcome = apply_tag_changes(rel, live.row.tags, self._ctx)
        return {
            "path": rel, "outcome": "processed" if outcome.changed else "unchanged", "new_path": None,
            "tags_before": outcome.before, "tags_after": outcome.after, "message": None,
            "action_id": outcome.action_id,
        }  # fmt: skip

    def _earlier_change(self, rel: str, since: float) -> bool:
        return any(a.kind in ("process", "edit") for a in self._jobs.actions_from(rel, since))

    def _purge_daily(self) -> None:
        while not self._stopping.wait(PURGE_EVERY):
            try:
                self.purge_older_than(self._ctx.settings.job_retention_days)
            except Exception:
                log.exception("job retention failed")


def _item_outcome(
    item: JobItemRow, found: Found, result: dict[str, Any], *, earlier: bool
) -> tuple[ItemStatus, str | None, dict[str, Any]]:
    """The item's status, error and stored result, told from the path the job listed."""
    if found.path is not None and found.path != item.path:
        result["path"], result["new_path"] = item.path, result.get("new_path") or found.path
    if result["outcome"] == "unchanged" and found.by_job is not None:
        result["message"] = f"already processed by job {found.by_job} ({found.note})"
    elif result["outcome"] == "unchanged" and earlier:
        # The interrupted run made the change; this run only found it done.
        result["outcome"] = "processed"
        result["message"] = "finished by the run interrupted before a restart"
    status = _ITEM_STATUS[result["outcome"]]
    return status, result.get("message") if status == ItemStatus.FAILED else None, result


def _handled_elsewhere(rel: str) -> dict[str, Any]:
    return {
        "path": rel, "outcome": "unchanged", "new_path": None, "tags_before": {}, "tags_after": {},
        "message": None, "action_id": None,
    }  # fmt: skip


def _bound_stage(engine: JobEngine, item: JobItemRow, live: Live) -> Callable[[Stage], None]:
    return lambda stage: engine._on_stage(item, live, stage)
