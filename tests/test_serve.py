"""`comicmaintainer serve` as a user starts it: HTTP, the watcher and the job engine in one process."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from comicmaintainer.archive import journal
from comicmaintainer.config import load_settings, save_config
from tests.archive_factory import make_cbz


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def poll(fn, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = fn()
            if value:
                return value
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return None


def start_serve(watched: Path, config: Path, *, quiet_period: float) -> tuple[subprocess.Popen[str], str]:
    """`comicmaintainer serve` as its own process on `watched` (with an empty Berserk folder); its URL."""
    (watched / "Berserk").mkdir(parents=True)
    port = free_port()
    env = {**os.environ, "WATCHED_DIR": str(watched), "CONFIG_DIR": str(config), "WEB_PORT": str(port)}
    save_config(load_settings(env), quiet_period=quiet_period)
    proc = subprocess.Popen(
        [sys.executable, "-m", "comicmaintainer.cli", "serve", "--host", "127.0.0.1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, f"http://127.0.0.1:{port}"


def test_dropped_files_become_one_watcher_job_and_the_list_shows_them(tmp_path: Path) -> None:
    watched, config = tmp_path / "library", tmp_path / "config"
    proc, base = start_serve(watched, config, quiet_period=0.5)
    try:
        assert poll(lambda: httpx.get(f"{base}/api/health").status_code == 200), "server did not come up"
        assert httpx.get(f"{base}/").status_code == 200
        staged = [make_cbz(tmp_path / f"berserk ch {n}.cbz", seed=n) for n in (12, 13, 14)]
        for path in staged:  # arriving together, as from a download client's finished folder
            os.rename(path, watched / "Berserk" / path.name)

        def listed() -> list[dict]:
            groups = httpx.get(f"{base}/api/files", params={"filter": "processed"}).json()["groups"]
            files = [f for g in groups for f in g["files"]]
            return files if len(files) == 3 else []

        files = poll(listed)
        assert files and sorted(f["path"] for f in files) == [
            f"Berserk/Berserk - Chapter 00{n}.cbz" for n in (12, 13, 14)
        ]
        jobs = httpx.get(f"{base}/api/jobs").json()["jobs"]
        assert [(j["source"], j["status"], j["succeeded"]) for j in jobs] == [("watcher", "completed", 3)]
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr


def test_start_up_problems_are_one_line_each_and_exit_2(tmp_path: Path) -> None:
    watched = tmp_path / "library"
    watched.mkdir()
    not_a_folder = tmp_path / "dups"
    not_a_folder.write_text("a file where the duplicates folder should be")
    env = {
        **os.environ,
        "WATCHED_DIR": str(watched),
        "CONFIG_DIR": str(tmp_path / "config"),
        "DUPLICATE_DIR": str(not_a_folder),
        "WEB_PORT": str(free_port()),
    }
    run = subprocess.run(
        [sys.executable, "-m", "comicmaintainer.cli", "serve", "--host", "127.0.0.1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert run.stderr.startswith("error: ") and "DUPLICATE_DIR" in run.stderr
    assert run.stderr.strip().count("\n") == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_mid_job_stops_in_order_and_exits_0(tmp_path: Path, sig: signal.Signals) -> None:
    """`docker stop` sends SIGTERM: it must stop as Ctrl-C does, with the store closed and nothing cut off."""
    watched, config = tmp_path / "library", tmp_path / "config"
    proc, base = start_serve(watched, config, quiet_period=0.3)
    try:
        assert poll(lambda: httpx.get(f"{base}/api/health").status_code == 200), "server did not come up"
        for n in range(1, 41):
            staged = make_cbz(tmp_path / "staging" / f"berserk ch {n}.cbz", seed=n, page_size=20_000)
            os.rename(staged, watched / "Berserk" / staged.name)

        def working() -> bool:
            jobs = httpx.get(f"{base}/api/jobs").json()["jobs"]
            return bool(jobs) and jobs[0]["processed"] >= 1

        assert poll(working), "the watcher job did not start"
    finally:
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr
    store_dir = config / "store"
    # SQLite removes the -wal and -shm files only when the last connection closes cleanly.
    assert (store_dir / "comicmaintainer.db").exists()
    assert not list(store_dir.glob("*-wal")) and not list(store_dir.glob("*-shm"))
    assert journal.pending(config / "journal") == []  # every in-place archive write flushed and settled
    db = sqlite3.connect(store_dir / "comicmaintainer.db")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT count(*) FROM actions WHERE state = 'pending'").fetchone() == (0,)
        statuses = {row[0] for row in db.execute("SELECT status FROM job_items")}
        # Every item ran to its end or was handed back to the queue; none was cut off mid-stage.
        assert statuses and statuses <= {"done", "queued"}, statuses
    finally:
        db.close()
    for path in (watched / "Berserk").iterdir():
        with zipfile.ZipFile(path) as zf:
            assert zf.testzip() is None, path
