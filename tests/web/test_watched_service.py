"""The whole service as `serve` builds it (`build_service(watch=True)`): a real watchdog observer on a
real folder, the job engine, and the event stream on a real uvicorn, driven as a person would."""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from comicmaintainer.config import Settings
from comicmaintainer.example_library import write_cbz
from comicmaintainer.jobs.model import FINAL_STATUSES
from comicmaintainer.library.store import MetadataStore, SeriesMatch, Status
from comicmaintainer.web.service import Service, build_service
from tests.web.conftest import LiveServer
from tests.web.test_sse import wait_until

STREAM = "/api/events/stream"


@pytest.fixture
def start_service(tmp_path: Path) -> Iterator[Callable[..., Service]]:
    started: list[Service] = []

    def start(**settings: Any) -> Service:
        folders = {"watched_dir": tmp_path / "library", "config_dir": tmp_path / "config"}
        config = Settings(**{"duplicate_dir": None, **folders, **settings})
        service = build_service(config, watch=True, workers=settings.get("max_workers", 2))
        service.start()
        started.append(service)
        return service

    (tmp_path / "library").mkdir()
    yield start
    for service in started:
        service.stop()


class EventReader:
    """Reads the event stream in a thread; `events` grows as messages arrive."""

    def __init__(self, url: str) -> None:
        self.events: list[dict[str, Any]] = []
        self._client = httpx.Client(timeout=30)
        self._stream = self._client.stream("GET", url + STREAM)
        self._response = self._stream.__enter__()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        fields: dict[str, str] = {}
        try:
            for line in self._response.iter_lines():
                if line == "" and fields:
                    self.events.append({"event": fields["event"], **json.loads(fields["data"])})
                    fields = {}
                elif line and not line.startswith(":"):
                    name, _, value = line.partition(": ")
                    fields[name] = value
        except httpx.HTTPError:
            pass  # the test closed the stream

    def changes(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"] == "file_changed" and e["change"] == kind]

    def close(self) -> None:
        self._client.close()


def idle(service: Service) -> bool:
    """Nothing left in the watcher and no job running."""
    status = service.watcher.status()
    return status.pending == 0 and all(j["status"] in FINAL_STATUSES for j in service.engine.list(limit=1000))


def all_processed(service: Service) -> bool:
    rows = service.store.files()
    return bool(rows) and all(r.status == Status.PROCESSED for r in rows) and idle(service)


def test_folder_renames_moves_and_deletes_reach_the_page_with_no_error(
    start_service: Callable[..., Service], live_server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    service = start_service(quiet_period=0.2)
    root = service.settings.watched_dir
    for series, chapters in (("Alpha", 2), ("Beta", 1)):
        for n in range(1, chapters + 1):
            write_cbz(root / series / f"{series} ch {n}.cbz", seed=n + len(series))
    wait_until(lambda: all_processed(service), timeout=30)
    pins = MetadataStore(service.store)
    pins.save_match(SeriesMatch("Beta", "pinned", "anilist", "30", None, None, [], time.time()))
    others = service.bus.subscriber_count  # the service's own listeners (notifications)
    reader = EventReader(live_server(service.app))
    try:
        wait_until(lambda: service.bus.subscriber_count == others + 1)
        (root / "Alpha").rename(root / "Gamma")
        wait_until(lambda: bool(reader.changes("folder_renamed")), timeout=15)
        (root / "Beta").rename(root / "Gamma" / "Beta")  # a move into another folder, same name
        wait_until(lambda: len(reader.changes("folder_renamed")) == 2, timeout=15)
        assert [(m.folder, m.source_id) for m in pins.matches("pinned")] == [("Gamma/Beta", "30")]
        shutil.rmtree(root / "Gamma" / "Beta")
        wait_until(lambda: bool(reader.changes("deleted")), timeout=15)
        # The vanished folder makes the watcher reconcile, which also processes Gamma's files, whose
        # series changed with the folder's name.
        wait_until(lambda: all_processed(service), timeout=30)
    finally:
        reader.close()
    renamed = [(e["old_path"], e["path"], e["row"]) for e in reader.changes("folder_renamed")]
    assert renamed == [("Alpha", "Gamma", None), ("Beta", "Gamma/Beta", None)]
    assert [e["path"] for e in reader.changes("deleted")] == ["Gamma/Beta/Beta - Chapter 0001.cbz"]
    assert sorted(r.path for r in service.store.files()) == [
        "Gamma/Gamma - Chapter 0001.cbz",
        "Gamma/Gamma - Chapter 0002.cbz",
    ]
    status = service.watcher.status()
    assert (status.failed, status.last_error) == (0, None)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_process_all_while_the_start_up_job_runs_fails_nothing(
    start_service: Callable[..., Service], live_server: LiveServer, tmp_path: Path
) -> None:
    """Three "process all" jobs made while the watcher's start-up job and each other run: every item
    of every job ends done or skipped, and a file another job renamed is followed to its new name."""
    series = ("Alpha", "Beta", "Gamma", "Delta")
    for n in range(1, 61):
        write_cbz(tmp_path / "library" / series[n % 4] / f"{series[n % 4]} ch-{n} [Scans].cbz", seed=n)
    service = start_service(quiet_period=0.2, max_workers=4)
    with httpx.Client(base_url=live_server(service.app), timeout=30) as api:

        def jobs() -> list[dict[str, Any]]:
            return list(api.get("/api/jobs").json()["jobs"])

        def running(source: str) -> bool:
            return any(j["source"] == source and j["status"] == "running" for j in jobs())

        wait_until(lambda: running("watcher"), timeout=30)
        for _ in range(3):  # each made while the jobs before it are mid-way
            job_id = api.post("/api/jobs", json={"kind": "process", "scope": "all"}).json()["id"]
            wait_until(lambda j=job_id: api.get(f"/api/jobs/{j}").json()["processed"] >= 1, timeout=30)
        wait_until(lambda: all(j["status"] in FINAL_STATUSES for j in jobs()), timeout=60)
        finished = jobs()
        items = {
            j["id"]: api.get(f"/api/jobs/{j['id']}/items", params={"limit": 500}).json()["items"]
            for j in finished
        }
    assert len(finished) == 4 and [j["source"] for j in finished].count("watcher") == 1
    followed = []
    for job in finished:
        statuses = {i["status"] for i in items[job["id"]]}
        failures = [(i["path"], i["error"]) for i in items[job["id"]] if i["status"] == "failed"]
        assert failures == [] and statuses <= {"done", "skipped"}, (job["id"], failures)
        assert job["status"] == "completed"
        for item in items[job["id"]]:
            message = (item["result"] or {}).get("message") or ""
            if item["status"] == "skipped" and item["result"]["new_path"]:
                assert message.startswith("already processed by job "), item
                followed.append(item)
    rows = service.store.files()
    assert len(rows) == 60 and all(r.status == Status.PROCESSED for r in rows)
    assert all(" - Chapter 00" in r.name for r in rows)
    assert followed  # the jobs did overlap: some items found their file renamed by another job
