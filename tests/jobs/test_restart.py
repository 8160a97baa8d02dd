"""Restart: a job killed mid-way (SIGKILL of a real process) resumes and applies every item exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

from comicmaintainer.archive.atomic import is_temp_name
from comicmaintainer.archive.reader import read_archive
from comicmaintainer.jobs.engine import JobEngine
from comicmaintainer.jobs.events import EventBus
from comicmaintainer.jobs.model import JobSpec
from comicmaintainer.library.process import Context, process
from comicmaintainer.library.recovery import recover
from comicmaintainer.library.store import JobStore, Store
from tests.archive_factory import make_cbz, page_hashes
from tests.conftest import make_settings

FILES = 40

# The server's side, in its own process: a store, an engine with two workers, one job over every file.
# Each file change is announced to a listener that takes 30 ms (as a slow client might), which
# widens the moments between a rename and the item's outcome being stored: the kill lands in them.
CHILD = textwrap.dedent(
    """
    import sys, time
    from comicmaintainer.config import load_settings
    from comicmaintainer.jobs.engine import JobEngine
    from comicmaintainer.jobs.events import EventBus
    from comicmaintainer.jobs.model import JobSpec
    from comicmaintainer.library.process import Context
    from comicmaintainer.library.store import Store

    settings = load_settings({"WATCHED_DIR": sys.argv[1], "CONFIG_DIR": sys.argv[2]})
    ctx = Context(settings, Store(settings.db_path), on_change=lambda change: time.sleep(0.03))
    engine = JobEngine(ctx, EventBus(), workers=2)
    engine.submit(JobSpec("process", "selected", tuple(sys.argv[3:])))
    engine.start()
    print("started", flush=True)
    time.sleep(120)
    """
)


def originals(watched: Path) -> dict[str, list[str]]:
    """Original path -> page hashes, for FILES messy names in one series."""
    pages = {}
    for n in range(1, FILES + 1):
        rel = f"Re_Zero/Re Zero ch-{n} [Scans].cbz"
        pages[rel] = page_hashes(make_cbz(watched / rel, pages=3, seed=n, page_size=20_000))
    return pages


def target(n: int) -> str:
    return f"Re_Zero/Re_Zero - Chapter {n:04d}.cbz"


def kill_mid_job(watched: Path, config: Path, paths: list[str]) -> Counter[str]:
    """Run the job in a child process and SIGKILL it once some items are done; the item statuses then."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(watched), str(config), *paths],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == b"started"
        with Store(config / "store" / "comicmaintainer.db") as store:
            jobs = JobStore(store)
            deadline = time.monotonic() + 20
            while Counter(i.status for i in jobs.list_items(1))["done"] < 8:
                assert time.monotonic() < deadline, "the child made no progress"
                time.sleep(0.005)
            os.kill(child.pid, signal.SIGKILL)
            child.wait(10)
            return Counter(i.status for i in jobs.list_items(1))
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(10)


def test_sigkilled_job_resumes_and_every_file_is_processed_once(watched: Path, tmp_path: Path) -> None:
    pages = originals(watched)
    paths = list(pages)
    settings = make_settings(watched, tmp_path)

    at_kill = kill_mid_job(watched, settings.config_dir, paths)
    assert at_kill["done"] < FILES, f"the job ended before the kill: {at_kill}"

    with Store(settings.db_path) as store:
        ctx = Context(settings, store)
        recover(settings.watched_dir, store, settings.journal_dir)  # what the server does at start-up
        engine = JobEngine(ctx, EventBus(), workers=3)
        engine.start()
        try:
            deadline = time.monotonic() + 30
            while engine.get(1)["finished_at"] is None:
                assert time.monotonic() < deadline, engine.get(1)
                time.sleep(0.02)
            job = engine.get(1)
            items = engine.items(1)
        finally:
            engine.stop()
        actions = store.list_actions(limit=10_000)

    assert (job["status"], job["total"], job["processed"]) == ("completed", FILES, FILES), job
    assert (job["succeeded"], job["failed"], job["skipped"]) == (FILES, 0, 0), job
    assert Counter(i["status"] for i in items) == {"done": FILES}
    # A write killed mid-copy leaves its temp dotfile (the original stays whole); sweeping those is
    # start-up recovery's business, so they are set apart here.
    files = [p for p in watched.rglob("*") if p.is_file() and not is_temp_name(p.name)]
    on_disk = sorted(p.relative_to(watched).as_posix() for p in files)
    assert on_disk == sorted(target(n) for n in range(1, FILES + 1))  # nothing lost, nothing left behind
    for n, rel in enumerate(paths, start=1):
        assert page_hashes(watched / target(n)) == pages[rel]
        assert read_archive(watched / target(n)).metadata.issue == str(n)
    renames = Counter(a.old_path for a in actions if a.state == "done" and a.old_path != a.new_path)
    assert renames == Counter(paths)  # each file renamed exactly once


def test_item_the_dead_run_renamed_completes_at_the_new_path(watched: Path, tmp_path: Path) -> None:
    """The exact window: renamed on disk, item still 'reading', no recovery run first."""
    settings = make_settings(watched, tmp_path)
    rel = "Berserk/Berserk ch 5.cbz"
    before = page_hashes(make_cbz(watched / rel, seed=5))
    with Store(settings.db_path) as store:
        ctx = Context(settings, store)
        first = JobEngine(ctx, EventBus(), workers=1)
        job = first.submit(JobSpec("process", "selected", (rel,)))
        claimed = JobStore(store).claim_next_item()  # the dead run had taken the item ...
        assert claimed is not None and claimed.path == rel
        assert process(rel, ctx).new_path == "Berserk/Berserk - Chapter 0005.cbz"  # ... and renamed the file

        engine = JobEngine(ctx, EventBus(), workers=1)
        engine.start()
        try:
            deadline = time.monotonic() + 10
            while engine.get(job["id"])["finished_at"] is None:
                assert time.monotonic() < deadline
                time.sleep(0.01)
        finally:
            engine.stop()
        done = engine.get(job["id"])
        (item,) = engine.items(job["id"])
        renames = [a for a in store.list_actions() if a.old_path != a.new_path]

    assert (done["succeeded"], done["failed"]) == (1, 0)
    assert item["status"] == "done" and item["result"]["new_path"] == "Berserk/Berserk - Chapter 0005.cbz"
    assert len(renames) == 1
    assert page_hashes(watched / "Berserk" / "Berserk - Chapter 0005.cbz") == before
