"""The job engine on real archives, a real SQLite store and real worker threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from comicmaintainer.archive.reader import read_archive
from comicmaintainer.jobs.engine import Conflict, JobEngine, JobError, NotFound
from comicmaintainer.jobs.events import EventBus, JobItem, JobUpdated
from comicmaintainer.jobs.model import JobSpec
from comicmaintainer.library.process import Context
from comicmaintainer.library.store import JobStore, Status
from tests.archive_factory import make_cbz, page_hashes

FINAL = ("completed", "failed", "cancelled")


class Recorder:
    """Collects every published event by wrapping a real bus's publish (events still go through it)."""

    def __init__(self, bus: EventBus) -> None:
        self.events: list[Any] = []
        self._publish = bus.publish
        bus.publish = self._record  # type: ignore[method-assign]

    def _record(self, event: Any) -> int:
        self.events.append(event)
        return self._publish(event)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


@pytest.fixture
def bus() -> EventBus:
    return EventBus()


@pytest.fixture
def engine(ctx: Context, bus: EventBus) -> Iterator[JobEngine]:
    eng = JobEngine(ctx, bus, workers=3)
    yield eng
    eng.stop()


def wait_for(check: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.01)


def wait_done(engine: JobEngine, job_id: int) -> dict[str, Any]:
    wait_for(lambda: engine.get(job_id)["finished_at"] is not None)
    return engine.get(job_id)


def library(watched: Path, count: int, series: str = "Berserk") -> list[str]:
    for n in range(1, count + 1):
        make_cbz(watched / series / f"{series} ch {n}.cbz", seed=n)
    return [f"{series}/{series} ch {n}.cbz" for n in range(1, count + 1)]


def test_process_job_runs_every_item_and_counts_right(engine: JobEngine, ctx: Context, watched: Path) -> None:
    paths = library(watched, 6)
    before = page_hashes(watched / paths[0])
    recorder = Recorder(engine._bus)
    engine.start()

    job = engine.submit(JobSpec("process", "selected", tuple(paths)))
    assert job["status"] in ("queued", "running") and job["total"] == 6
    done = wait_done(engine, job["id"])

    assert done["status"] == "completed"
    assert (done["processed"], done["succeeded"], done["failed"], done["skipped"]) == (6, 6, 0, 0)
    assert done["percentage"] == 100.0 and done["current_file"] is None
    target = watched / "Berserk" / "Berserk - Chapter 0001.cbz"
    assert target.exists() and page_hashes(target) == before
    assert read_archive(target).metadata.issue == "1"
    items = engine.items(job["id"])
    assert [i["status"] for i in items] == ["done"] * 6
    assert items[0]["result"]["new_path"] == "Berserk/Berserk - Chapter 0001.cbz"
    assert len(recorder.of(JobItem)) == 6
    finals = [e for e in recorder.of(JobUpdated) if e.status == "completed"]
    assert finals and finals[-1].processed == 6
    assert ctx.store.get_file("Berserk/Berserk - Chapter 0006.cbz").status == Status.PROCESSED


def test_rerun_is_skipped_and_unknown_path_is_a_failed_item(engine: JobEngine, watched: Path) -> None:
    paths = library(watched, 2)
    engine.start()
    first = wait_done(engine, engine.submit(JobSpec("process", "selected", tuple(paths)))["id"])
    assert first["succeeded"] == 2
    done_paths = ["Berserk/Berserk - Chapter 0001.cbz", "Berserk/Berserk - Chapter 0002.cbz"]

    job = engine.submit(JobSpec("normalize", "selected", (*done_paths, "Nope/missing.cbz", "../escape.cbz")))
    done = wait_done(engine, job["id"])

    assert (done["total"], done["skipped"], done["failed"], done["status"]) == (4, 2, 2, "failed")
    failed = {i["path"]: i["error"] for i in engine.items(job["id"], status="failed")}
    assert failed["Nope/missing.cbz"] == "no such file in the library: Nope/missing.cbz"
    assert "'..'" in failed["../escape.cbz"]


def test_scopes_all_and_unprocessed_expand_from_the_store(
    engine: JobEngine, ctx: Context, watched: Path
) -> None:
    paths = library(watched, 3)
    for rel in paths:
        ctx.store.mark(rel, status=Status.UNPROCESSED)
    ctx.store.mark(paths[0], status=Status.PROCESSED)

    unprocessed = engine.submit(JobSpec("rename", "unprocessed"))
    everything = engine.submit(JobSpec("rename", "all"))

    assert unprocessed["total"] == 2 and everything["total"] == 3
    engine.start()
    assert wait_done(engine, unprocessed["id"])["failed"] == 0


def test_bad_requests_are_plain_job_errors(engine: JobEngine) -> None:
    with pytest.raises(JobError, match="unknown job kind"):
        engine.submit(JobSpec("explode", "all"))  # type: ignore[arg-type]
    with pytest.raises(JobError, match="no files selected"):
        engine.submit(JobSpec("process", "selected", ()))
    with pytest.raises(JobError, match="at least one field"):
        engine.submit(JobSpec("tag_update", "all", tags={"Series": "", "Title": "  "}))
    with pytest.raises(JobError, match="unknown ComicInfo field"):
        engine.submit(JobSpec("tag_update", "all", tags={"Bogus": "x"}))
    with pytest.raises(NotFound):
        engine.get(999)
    with pytest.raises(NotFound):
        engine.cancel(999)


def test_cancel_leaves_queued_items_unrun(engine: JobEngine, ctx: Context, watched: Path) -> None:
    paths = library(watched, 12)
    job = engine.submit(JobSpec("process", "selected", tuple(paths)))
    # Hold the first three files' locks, so that each of the 3 workers is stuck in flight on one of
    # them when we cancel (unheld, the workers could finish any number of files before the cancel).
    release = threading.Event()
    held = threading.Event()

    def hold() -> None:
        with ExitStack() as stack:
            for rel in paths[:3]:
                stack.enter_context(ctx.locks.hold(rel))
            held.set()
            release.wait(10)

    threading.Thread(target=hold).start()
    held.wait(5)
    engine.start()
    wait_for(lambda: [i["status"] for i in engine.items(job["id"])].count("reading") == 3)

    cancelled = engine.cancel(job["id"])
    assert cancelled["status"] == "cancelled" and cancelled["finished_at"] is None
    release.set()
    done = wait_done(engine, job["id"])

    statuses = [i["status"] for i in engine.items(job["id"])]
    assert done["status"] == "cancelled"
    assert statuses == ["done"] * 3 + ["cancelled"] * 9  # the items in flight finished cleanly
    assert done["processed"] == 3
    for rel, status in zip(paths, statuses, strict=True):
        assert (watched / rel).exists() == (status == "cancelled")
    assert engine.cancel(job["id"])["status"] == "cancelled"  # cancelling again changes nothing


def test_retry_reruns_failed_items_as_a_linked_job(engine: JobEngine, watched: Path) -> None:
    paths = library(watched, 2)
    broken = watched / "Berserk" / "Berserk ch 9.cbz"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    engine.start()
    job = engine.submit(JobSpec("process", "selected", (*paths, "Berserk/Berserk ch 9.cbz")))
    done = wait_done(engine, job["id"])
    assert (done["failed"], done["succeeded"], done["status"]) == (1, 2, "failed")

    make_cbz(broken, seed=9)  # the person fixed the file
    retry = engine.retry(job["id"])
    assert retry["retry_of"] == job["id"] and retry["total"] == 1
    assert wait_done(engine, retry["id"])["succeeded"] == 1
    assert (watched / "Berserk" / "Berserk - Chapter 0009.cbz").exists()
    with pytest.raises(Conflict, match="no failed items"):
        engine.retry(retry["id"])


def test_person_jobs_run_before_watcher_jobs(engine: JobEngine, watched: Path) -> None:
    background = library(watched, 5, "Blame")
    asked = library(watched, 5, "Frieren")
    low = engine.submit(JobSpec("process", "selected", tuple(background), source="watcher"))
    high = engine.submit(JobSpec("process", "selected", tuple(asked), source="web"))
    recorder = Recorder(engine._bus)
    engine._worker_count = 1  # one worker makes the order observable
    engine.start()
    wait_done(engine, low["id"])

    order = [e.job_id for e in recorder.of(JobItem)]
    assert order == [high["id"]] * 5 + [low["id"]] * 5  # stored later, ran first


def test_progress_has_eta_and_is_stored(engine: JobEngine, watched: Path) -> None:
    paths = library(watched, 10)
    recorder = Recorder(engine._bus)
    engine._worker_count = 1
    engine.start()
    job = engine.submit(JobSpec("process", "selected", tuple(paths)))
    done = wait_done(engine, job["id"])

    running = [e for e in recorder.of(JobUpdated) if e.status == "running" and e.processed > 0]
    assert running and all(e.eta_seconds is not None and e.eta_seconds >= 0 for e in running)
    assert {e.stage for e in recorder.of(JobUpdated)} >= {"reading"}
    stored = JobStore(engine._ctx.store).get_job(job["id"])
    assert stored is not None and (stored.processed, stored.status) == (10, "completed")
    assert done["eta_seconds"] is None


def test_tag_update_sets_given_fields_and_leaves_empty_ones(engine: JobEngine, watched: Path) -> None:
    paths = library(watched, 3)
    engine.start()
    job = engine.submit(
        JobSpec("tag_update", "selected", tuple(paths), tags={"Publisher": "Hakusensha", "Title": ""})
    )
    done = wait_done(engine, job["id"])

    assert (done["succeeded"], done["status"]) == (3, "completed")
    md = read_archive(watched / paths[0]).metadata
    assert md.publisher == "Hakusensha" and md.title is None
    again = wait_done(
        engine,
        engine.submit(JobSpec("tag_update", "selected", tuple(paths), tags={"Publisher": "Hakusensha"}))[
            "id"
        ],
    )
    assert again["skipped"] == 3


def test_delete_and_retention(engine: JobEngine, ctx: Context, watched: Path) -> None:
    paths = library(watched, 1)
    pending = engine.submit(JobSpec("process", "selected", tuple(paths)))
    with pytest.raises(Conflict):
        engine.delete(pending["id"])  # not started, not finished
    engine.start()
    wait_done(engine, pending["id"])
    old = engine.submit(JobSpec("process", "selected", ("gone.cbz",)))  # finishes at once: all refused
    assert engine.get(old["id"])["status"] == "failed"

    assert engine.purge_older_than(1) == 0
    assert engine.purge_older_than(0) == 2
    with pytest.raises(NotFound):
        engine.get(old["id"])
    with pytest.raises(NotFound):
        engine.delete(pending["id"])
    assert engine.list() == []
