"""A running job's counters, kept in memory by the engine and flushed to the jobs table.

The engine changes a `Live` only under its own lock and never does I/O there: `Live.snapshot`
gives the row to store, and `Live.save` writes it afterwards, outside that lock, in order.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from comicmaintainer.jobs.events import JobUpdated
from comicmaintainer.jobs.model import job_json, percentage
from comicmaintainer.library.store import JobRow

ETA_WINDOW = 20  # item durations in the moving average


@dataclass
class Live:
    """A job some item of which may still run."""

    row: JobRow
    since_move: int = 0  # the file trail's position when the job was made (jobs/locate.py)
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
    written: int = 0  # how many snapshots were handed out to be stored (their order)
    _saved: int = 0  # the newest of them in the table
    _save_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def of(cls, row: JobRow, counts: dict[str, int], since_move: int) -> Live:
        """Tracked from its items' statuses (a resumed job, or one made by another process)."""
        live = cls(
            row=row, since_move=since_move, succeeded=counts.get("done", 0), failed=counts.get("failed", 0),
            skipped=counts.get("skipped", 0), cancelled=counts.get("cancelled", 0),
            cancel_requested=row.status == "cancelled", started_at=row.started_at,
        )  # fmt: skip
        live.processed = live.succeeded + live.failed + live.skipped
        return live

    @property
    def finished(self) -> bool:
        return self.in_flight == 0 and self.processed + self.cancelled >= self.row.total

    def status(self) -> str:
        if self.cancel_requested:
            return "cancelled"
        if not self.finished:
            return "running" if self.started_at is not None else "queued"
        return "failed" if self.failed else "completed"

    def eta(self, workers: int) -> float | None:
        remaining = self.row.total - self.processed - self.cancelled
        if not self.durations or remaining <= 0:
            return None
        average = sum(self.durations) / len(self.durations)
        return round(average * remaining / max(1, min(workers, remaining)), 1)

    def snapshot(self, workers: int) -> dict[str, Any]:
        """The row the jobs table stores (every JOB_PROGRESS_COLUMNS key)."""
        final = self.finished
        return {
            "status": self.status(),
            "processed": self.processed,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "skipped": self.skipped,
            "current_file": None if final else self.current_file,
            "stage": None if final else self.stage,
            "eta_seconds": None if final else self.eta(workers),
            "finished_at": time.time() if final else None,
        }

    def event(self, workers: int) -> JobUpdated:
        snap = self.snapshot(workers)
        return JobUpdated(
            job_id=self.row.id, status=snap["status"], processed=self.processed, total=self.row.total,
            succeeded=self.succeeded, failed=self.failed, skipped=self.skipped,
            percentage=percentage(self.processed, self.row.total), current_file=snap["current_file"],
            stage=snap["stage"], eta_seconds=snap["eta_seconds"],
        )  # fmt: skip

    def to_json(self, workers: int) -> dict[str, Any]:
        """The API's ``Job`` with the live counters."""
        snap = self.snapshot(workers)
        data = job_json(self.row)
        data.update({key: snap[key] for key in snap if key != "finished_at"})
        data["percentage"] = percentage(self.processed, self.row.total)
        data["started_at"] = self.started_at
        return data

    def save(
        self, number: int, snapshot: dict[str, Any], write: Callable[[int, dict[str, Any]], None]
    ) -> None:
        """Store snapshot ``number`` unless a newer one is stored already. Called without the engine's
        lock: the write may wait for another process's transaction, and only this job's next row
        waits with it (its own lock keeps the rows in order); nobody reading a job does."""
        with self._save_lock:
            if number > self._saved:
                write(self.row.id, snapshot)
                self._saved = number
