"""The hub tells of each finished job once, also of jobs whose end it missed on the event bus."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from comicmaintainer.config import Settings, save_config
from comicmaintainer.integrations.hub import Integrations, change_paths
from comicmaintainer.jobs.events import EventBus, JobUpdated, Resync
from comicmaintainer.library.changes import FileChange
from comicmaintainer.library.store import JobStore, NewJob, Store
from tests.integrations.fakes import FakeNotify


@pytest.fixture
def endpoint() -> Iterator[FakeNotify]:
    fake = FakeNotify()
    yield fake
    fake.close()


def finished_job(jobs: JobStore, status: str = "completed") -> int:
    job_id = jobs.create_job(NewJob("process", "selected", "web", 0, {}, paths=("A/1.cbz", "A/2.cbz")))
    counts = {"processed": 2, "succeeded": 2, "failed": 0, "skipped": 0}
    position = {"current_file": None, "stage": None, "eta_seconds": None, "finished_at": time.time()}
    progress = {"status": status, **counts, **position}
    jobs.save_progress(job_id, progress)
    return job_id


def test_a_missed_job_end_is_told_after_a_resync_and_never_twice(
    settings: Settings, endpoint: FakeNotify
) -> None:
    settings = save_config(settings, notify_urls=[f"json://127.0.0.1:{endpoint.port}/"])
    with Store(settings.db_path) as store:
        hub = Integrations(settings, store, EventBus())
        try:
            jobs = JobStore(store)
            first, second = finished_job(jobs), finished_job(jobs)
            hub._on_event(JobUpdated(first, "completed", 2, 2, 2, 0, 0, 100.0))
            hub._on_event(Resync("client fell behind"))  # the end of the second job was missed
            hub._on_event(JobUpdated(second, "completed", 2, 2, 2, 0, 0, 100.0))
            endpoint.wait_for(2)
            assert hub.wait_idle(10)
            titles = sorted(m["title"] for m in endpoint.messages())
            assert titles == [f"Job {first} (process) completed", f"Job {second} (process) completed"]
        finally:
            hub.stop()


def test_change_paths_are_the_new_and_the_old_path() -> None:
    assert change_paths(FileChange.renamed("A/1.cbz", "B/2.cbz")) == ("B/2.cbz", "A/1.cbz")
    assert change_paths(FileChange.updated("C/3.cbz")) == ("C/3.cbz",)
