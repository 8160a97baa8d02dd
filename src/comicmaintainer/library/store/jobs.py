"""Jobs: batch jobs and their items (migration 0002), stored before any work so a restart resumes them.

The engine (jobs/engine.py) owns the rules; these are its reads and writes. The invariant: a job
and all its items are stored in one transaction, and an item is claimed (queued → reading) in one
write, so two workers never take the same item. Item stages between the claim and the outcome
live in the engine's memory only: a claimed item is stored as 'reading', which is all a restart
needs to know.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from comicmaintainer.library.store.files import Store
from comicmaintainer.library.store.history import Action, ActionState, _action
from comicmaintainer.library.store.statuses import (
    ACTIVE_ITEM_STATUSES,
    ItemStatus,
    JobKind,
    JobStatus,
    Status,
)

# Status values in SQL text are written from the enums (constants, never user input); where a
# partial index serves the query (job_items_queue: status = 'queued') the value must be in the
# statement's text for SQLite to use the index, not a bound parameter.
_QUEUED = f"'{ItemStatus.QUEUED}'"
_ACTIVE = ", ".join(f"'{status}'" for status in ACTIVE_ITEM_STATUSES)


@dataclass(frozen=True)
class JobRow:
    id: int
    kind: JobKind
    scope: str
    source: str
    priority: int
    status: JobStatus
    tags: dict[str, str]
    total: int
    processed: int
    succeeded: int
    failed: int
    skipped: int
    current_file: str | None
    stage: str | None
    eta_seconds: float | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    retry_of: int | None


@dataclass(frozen=True)
class JobItemRow:
    id: int
    job_id: int
    path: str
    status: ItemStatus
    error: str | None
    result: dict[str, Any] | None
    attempts: int


@dataclass(frozen=True)
class NewJob:
    """What ``JobStore.create_job`` stores. ``select`` fills the items from the files table instead
    of ``paths`` ("all" or "unprocessed"); ``refused`` items are stored as failed with their error."""

    kind: JobKind | str
    scope: str
    source: str
    priority: int
    tags: dict[str, str]
    paths: tuple[str, ...] = ()
    refused: tuple[tuple[str, str], ...] = ()
    select: str | None = None
    retry_of: int | None = None


class JobStore:
    """Jobs and job items on a ``Store``'s connections (same single writer, same readers)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def create_job(self, job: NewJob) -> int:
        """Store the job and every item in one transaction; returns the job id."""
        now = time.time()
        with self._store._write() as conn:
            job_id = conn.execute(
                "INSERT INTO jobs (kind, scope, source, priority, tags, created_at, retry_of)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    JobKind(job.kind).value,
                    job.scope,
                    job.source,
                    job.priority,
                    json.dumps(job.tags),
                    now,
                    job.retry_of,
                ),
            ).lastrowid
            assert job_id is not None
            if job.select is not None:
                conn.execute(_FILL_ITEMS_SQL[job.select], (job_id, job.priority))
            conn.executemany(
                "INSERT INTO job_items (job_id, priority, path) VALUES (?, ?, ?)",
                ((job_id, job.priority, path) for path in job.paths),
            )
            conn.executemany(
                "INSERT INTO job_items (job_id, priority, path, status, error, finished_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    (job_id, job.priority, path, ItemStatus.FAILED.value, error, now)
                    for path, error in job.refused
                ),
            )
            conn.execute(
                "UPDATE jobs SET total = (SELECT count(*) FROM job_items WHERE job_id = :id) WHERE id = :id",
                {"id": job_id},
            )
        return job_id

    def get_job(self, job_id: int) -> JobRow | None:
        rows = self._store._read("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return _job_row(rows[0]) if rows else None

    def list_jobs(self, status: JobStatus | str | None = None, limit: int = 50) -> list[JobRow]:
        """Newest first."""
        if status is None:
            rows = self._store._read("SELECT * FROM jobs ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = self._store._read(
                "SELECT * FROM jobs WHERE status = ? ORDER BY id DESC LIMIT ?",
                (JobStatus(status).value, limit),
            )
        return [_job_row(row) for row in rows]

    def unfinished_jobs(self) -> list[JobRow]:
        """Jobs some item of which may still run (finished_at is NULL), oldest first."""
        rows = self._store._read("SELECT * FROM jobs WHERE finished_at IS NULL ORDER BY id")
        return [_job_row(row) for row in rows]

    def list_items(
        self, job_id: int, status: ItemStatus | str | None = None, limit: int = 500
    ) -> list[JobItemRow]:
        """In queue order."""
        sql = "SELECT * FROM job_items WHERE job_id = ?"
        params: tuple[Any, ...] = (job_id,)
        if status is not None:
            sql += " AND status = ?"
            params += (ItemStatus(status).value,)
        rows = self._store._read(sql + " ORDER BY id LIMIT ?", (*params, limit))
        return [_job_item_row(row) for row in rows]

    def item_counts(self, job_id: int) -> dict[str, int]:
        """Items of the job per status (only statuses present)."""
        rows = self._store._read(
            "SELECT status, count(*) FROM job_items WHERE job_id = ? GROUP BY status", (job_id,)
        )
        return {ItemStatus(status): count for status, count in rows}

    def requeue_interrupted(self) -> int:
        """Items a dead process had claimed go back to the queue (their attempt count stays raised)."""
        with self._store._write() as conn:
            return conn.execute(_REQUEUE_SQL, {"queued": ItemStatus.QUEUED.value}).rowcount

    def claim_next_item(self) -> JobItemRow | None:
        """Take the first queued item (priority, then job, then item order) and mark it 'reading'."""
        now = time.time()
        with self._store._write() as conn:
            row = conn.execute(_NEXT_QUEUED_SQL).fetchone()
            if row is None:
                return None
            claimed = conn.execute(
                "UPDATE job_items SET status = ?, attempts = attempts + 1, started_at = ?"
                " WHERE id = ? RETURNING *",
                (ItemStatus.READING.value, now, row["id"]),
            ).fetchall()[0]  # fetchall: the statement must be finished before COMMIT
            conn.execute(
                "UPDATE jobs SET status = CASE WHEN status = :queued THEN :running ELSE status END,"
                " started_at = coalesce(started_at, :now) WHERE id = :id",
                {
                    "queued": JobStatus.QUEUED.value,
                    "running": JobStatus.RUNNING.value,
                    "now": now,
                    "id": row["job_id"],
                },  # fmt: skip
            )
        return _job_item_row(claimed)

    def finish_item(
        self, item_id: int, status: ItemStatus | str, error: str | None, result: dict[str, Any] | None
    ) -> None:
        text = None if result is None else json.dumps(result, default=str)
        with self._store._write() as conn:
            conn.execute(
                "UPDATE job_items SET status = ?, error = ?, result = ?, finished_at = ? WHERE id = ?",
                (ItemStatus(status).value, error, text, time.time(), item_id),
            )

    def cancel_queued(self, job_id: int) -> int:
        """Mark the job cancelled and its not yet started items cancelled; returns how many items."""
        now = time.time()
        with self._store._write() as conn:
            conn.execute(
                "UPDATE jobs SET status = ? WHERE id = ? AND finished_at IS NULL",
                (JobStatus.CANCELLED.value, job_id),
            )
            return conn.execute(
                "UPDATE job_items SET status = ?, finished_at = ? WHERE job_id = ? AND status = ?",
                (ItemStatus.CANCELLED.value, now, job_id, ItemStatus.QUEUED.value),
            ).rowcount

    def save_progress(self, job_id: int, progress: dict[str, Any]) -> None:
        """Write a job's counters, position and status; ``progress`` holds every JOB_PROGRESS_COLUMNS key."""
        params = {name: progress[name] for name in JOB_PROGRESS_COLUMNS}
        params["status"] = JobStatus(params["status"]).value
        with self._store._write() as conn:
            conn.execute(_SAVE_PROGRESS_SQL, {**params, "id": job_id})

    def delete_job(self, job_id: int) -> bool:
        """Delete a finished job and its items; False if there is no such finished job."""
        with self._store._write() as conn:
            deleted = conn.execute("DELETE FROM jobs WHERE id = ? AND finished_at IS NOT NULL", (job_id,))
            return deleted.rowcount > 0

    def purge_jobs(self, finished_before: float) -> int:
        """Delete jobs that finished before the given time (epoch seconds); returns how many."""
        with self._store._write() as conn:
            return conn.execute(
                "DELETE FROM jobs WHERE finished_at IS NOT NULL AND finished_at < ?", (finished_before,)
            ).rowcount

    def actions_from(self, path: str, since: float) -> list[Action]:
        """Pending or done actions recorded since ``since`` on the file at ``path``, newest first.

        Lets a resumed job see what its interrupted run already did (a rename, a tag write).
        """
        rows = self._store._read(
            "SELECT * FROM actions WHERE old_path = ? AND state IN (?, ?) AND at >= ? ORDER BY id DESC",
            (path, ActionState.PENDING.value, ActionState.DONE.value, since),
        )
        return [_action(row) for row in rows]


JOB_PROGRESS_COLUMNS = (
    "status", "processed", "succeeded", "failed", "skipped", "current_file", "stage", "eta_seconds",
    "finished_at",
)  # fmt: skip
_SAVE_PROGRESS_SQL = """
UPDATE jobs SET status = :status, processed = :processed, succeeded = :succeeded, failed = :failed,
    skipped = :skipped, current_file = :current_file, stage = :stage, eta_seconds = :eta_seconds,
    finished_at = :finished_at
WHERE id = :id
"""
_FILL_ITEMS_SQL = {
    "all": "INSERT INTO job_items (job_id, priority, path) SELECT ?, ?, path FROM files ORDER BY path",
    # Every piece is a constant of this module.
    "unprocessed": f"INSERT INTO job_items (job_id, priority, path) SELECT ?, ?, path FROM files"  # noqa: S608  # nosec B608
    f" WHERE status = '{Status.UNPROCESSED}' ORDER BY path",
}
_REQUEUE_SQL = (
    f"UPDATE job_items SET status = :queued WHERE status IN ({_ACTIVE})"  # noqa: S608  # nosec B608
    " AND job_id IN (SELECT id FROM jobs WHERE finished_at IS NULL)"
)
_NEXT_QUEUED_SQL = (
    f"SELECT id, job_id FROM job_items WHERE status = {_QUEUED}"  # noqa: S608  # nosec B608
    " ORDER BY priority, job_id, id LIMIT 1"
)


_JOB_ROW_FIELDS = tuple(JobRow.__dataclass_fields__)


def _job_row(row: sqlite3.Row) -> JobRow:
    # Named columns, not row.keys(): a later migration may add columns JobRow does not have.
    values = {name: row[name] for name in _JOB_ROW_FIELDS}
    values["tags"] = json.loads(row["tags"])
    values["kind"], values["status"] = JobKind(row["kind"]), JobStatus(row["status"])
    return JobRow(**values)


def _job_item_row(row: sqlite3.Row) -> JobItemRow:
    result = row["result"]
    return JobItemRow(
        id=row["id"],
        job_id=row["job_id"],
        path=row["path"],
        status=ItemStatus(row["status"]),
        error=row["error"],
        result=None if result is None else json.loads(result),
        attempts=row["attempts"],
    )
