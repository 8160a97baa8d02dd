"""Another process holding the database (as the CLI does) must not stall the requests that read jobs.

The other process is real: a Python child with its own SQLite connection in a write transaction,
held until the test lets go. A job worker of the service then waits on it, inside its claim of the
next item (SQLite's busy timeout is 30 s). The requests below must answer while that transaction is
still held: the test releases it only after they answered, so no timing can make them pass.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from comicmaintainer.config import Settings
from comicmaintainer.example_library import build
from comicmaintainer.web.service import Service, build_service
from tests.web.conftest import LiveServer
from tests.web.test_sse import wait_until

HOLDER = textwrap.dedent(
    """
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    print("held", flush=True)
    sys.stdin.read()  # until the test closes our stdin
    conn.execute("ROLLBACK")
    """
)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    build(tmp_path / "library", series=2, per_series=3)
    settings = Settings(watched_dir=tmp_path / "library", duplicate_dir=None, config_dir=tmp_path / "config")
    svc = build_service(settings, workers=2)
    svc.start()
    yield svc
    svc.stop()


def in_claim(thread: threading.Thread) -> bool:
    """True while ``thread`` is inside the store's claim of the next job item."""
    frame = sys._current_frames().get(thread.ident or -1)
    while frame is not None:
        if frame.f_code.co_name == "claim_next_item":
            return True
        frame = frame.f_back
    return False


def test_job_requests_answer_while_another_process_holds_the_database(
    service: Service, live_server: LiveServer
) -> None:
    with httpx.Client(base_url=live_server(service.app), timeout=10) as api:
        job_id = api.post("/api/jobs", json={"kind": "process", "scope": "all"}).json()["id"]
        wait_until(lambda: api.get(f"/api/jobs/{job_id}").json()["status"] == "failed", timeout=30)
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(service.settings.db_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
            workers = [t for t in threading.enumerate() if t.name.startswith("job-worker")]
            # An idle worker looks at the queue every second: it is soon waiting on the other process.
            wait_until(lambda: any(in_claim(t) for t in workers), timeout=10)
            one = api.get(f"/api/jobs/{job_id}")
            listed = api.get("/api/jobs")
            items = api.get(f"/api/jobs/{job_id}/items", params={"status": "failed"})
            still_held = holder.poll() is None and any(in_claim(t) for t in workers)
        finally:
            assert holder.stdin is not None
            holder.stdin.close()
            holder.wait(10)
    assert still_held  # all three answered while the worker was still waiting for the database
    assert one.status_code == 200 and one.json()["status"] == "failed"
    assert [j["id"] for j in listed.json()["jobs"]] == [job_id]
    assert [i["path"] for i in items.json()["items"]] == ["Berserk/Berserk ch 100 (broken download).cbz"]
