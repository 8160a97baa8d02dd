"""Wires the reader servers and the notifications to the running service.

Changes come from the pipeline's change callback (`Context.on_change`, wrapped by the service):
every change, none lost, at the cost of adding paths to a set. Job ends come from the event bus,
on a thread with an event loop of its own; the summary of each job is read from the store, and
if the bus ever says this listener fell behind (`Resync`), recently finished jobs are looked up
there too, so no job goes untold.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from typing import Any

from comicmaintainer.config import Settings
from comicmaintainer.integrations.notify import JobSummary, Notifier, Send
from comicmaintainer.integrations.readers import client_for
from comicmaintainer.integrations.rescan import ClientFactory, Rescanner
from comicmaintainer.integrations.secrets import Redactor
from comicmaintainer.jobs.events import EventBus, JobUpdated, Resync, Subscription
from comicmaintainer.library.changes import FileChange
from comicmaintainer.library.store import JobRow, JobStore, Store

log = logging.getLogger("comicmaintainer.integrations")

FINAL = ("completed", "failed", "cancelled")
MAX_LISTED_ITEMS = 10_000  # items read back per job for its failure/duplicate lists


def change_paths(change: FileChange) -> tuple[str, ...]:
    """The library paths one change touches (new and old)."""
    return tuple(p for p in (change.path, change.old_path) if p)


class Integrations:
    def __init__(
        self, settings: Settings, store: Store, bus: EventBus, *, make_client: ClientFactory = client_for,
        send: Send | None = None, retry: tuple[float, float] = (2.0, 300.0),
    ) -> None:  # fmt: skip
        self.local_root = str(settings.watched_dir)
        self._jobs = JobStore(store)
        self._bus = bus
        self.rescanner = Rescanner(
            self.local_root, make_client=make_client, retry_base=retry[0], retry_cap=retry[1]
        )
        self.notifier = Notifier(send=send)
        self.make_client = make_client
        self.redactor = Redactor()
        # Apprise logs what its plugins do; the filter keeps a URL's secrets out of our log file.
        logging.getLogger("apprise").addFilter(self.redactor)
        self._told: deque[int] = deque(maxlen=1000)
        self._since = time.time()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscription: Subscription | None = None
        self._listening = threading.Event()
        self._thread: threading.Thread | None = None
        self._applied: tuple[Any, ...] | None = None
        self.apply(settings)

    def apply(self, settings: Settings) -> None:
        """Take new settings; the reader workers are rebuilt only when their settings changed."""
        readers = (settings.reader_servers, settings.reader_debounce)
        if readers != self._applied:
            self.rescanner.configure(settings.reader_servers, settings.reader_debounce)
            self._applied = readers
        self.notifier.configure(settings.notify_urls, settings.notify_events, settings.notify_group_seconds)
        self.redactor.set_secrets(settings.reader_servers, settings.notify_urls)

    def on_change(self, change: FileChange) -> None:
        self.rescanner.note(change_paths(change))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run_listener, name="integrations-events", daemon=True)
        self._thread.start()
        self._listening.wait(5)

    def stop(self) -> None:
        loop, subscription = self._loop, self._subscription
        if loop is not None and subscription is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(subscription.close)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.rescanner.stop()
        self.notifier.stop()
        logging.getLogger("apprise").removeFilter(self.redactor)

    def wait_idle(self, timeout: float) -> bool:
        return self.rescanner.wait_idle(timeout) and self.notifier.wait_idle(timeout)

    def _run_listener(self) -> None:
        asyncio.run(self._listen())

    async def _listen(self) -> None:
        self._loop = asyncio.get_running_loop()
        with self._bus.subscribe() as subscription:
            self._subscription = subscription
            self._listening.set()
            while batch := await subscription.next_batch():
                for envelope in batch:
                    self._on_event(envelope.event)

    def _on_event(self, event: Any) -> None:
        try:
            if isinstance(event, JobUpdated) and event.is_final:
                self._tell_job(event.job_id)
            elif isinstance(event, Resync):
                for row in self._jobs.list_jobs(limit=50):
                    if row.status in FINAL and (row.finished_at or 0) >= self._since:
                        self._tell_job(row.id)
        except Exception:
            log.exception("could not tell of a finished job")

    def _tell_job(self, job_id: int) -> None:
        if job_id in self._told:
            return
        row = self._jobs.get_job(job_id)
        if row is None or row.status not in FINAL:
            return
        self._told.append(job_id)
        self.notifier.job_finished(self._summary(row))

    def _summary(self, row: JobRow) -> JobSummary:
        summary = JobSummary(
            row.id, row.kind, row.source, row.status, row.total, row.succeeded, row.failed, row.skipped
        )
        for item in self._jobs.list_items(row.id, "failed", limit=MAX_LISTED_ITEMS):
            outcome = (item.result or {}).get("outcome")
            line = f"{item.path}: {item.error or 'failed'}"
            (summary.attention if outcome == "needs_attention" else summary.failures).append(line)
        if row.succeeded:
            for item in self._jobs.list_items(row.id, "done", limit=MAX_LISTED_ITEMS):
                result = item.result or {}
                if result.get("outcome") == "duplicate":
                    summary.duplicates.append(f"{item.path}: duplicate of {result.get('duplicate_of')}")
        return summary
