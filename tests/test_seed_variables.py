"""The original ComicMaintainer's GUNICORN_WORKERS and PROCESS_SCRIPT: accepted, logged once as not needed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from comicmaintainer.config import load_settings, unneeded_seed_variables
from tests.test_serve import free_port, poll

GUNICORN_LINE = "GUNICORN_WORKERS is not needed: one process serves the page, the API and the watcher"
SCRIPT_LINE = "PROCESS_SCRIPT is not needed: every file goes through the built-in pipeline"


def test_a_line_for_each_variable_set_and_none_for_unset_or_empty() -> None:
    both = unneeded_seed_variables({"GUNICORN_WORKERS": "2", "PROCESS_SCRIPT": "/app/process_file.py"})
    assert [line.split(" (")[0] for line in both] == [GUNICORN_LINE, SCRIPT_LINE]
    assert all("\n" not in line for line in both)
    assert unneeded_seed_variables({"PROCESS_SCRIPT": "x"})[0].startswith(SCRIPT_LINE)
    assert unneeded_seed_variables({"GUNICORN_WORKERS": " ", "WATCHED_DIR": "/w"}) == []


def test_any_value_loads_like_no_value(tmp_path: Path) -> None:
    (tmp_path / "library").mkdir()
    plain = {"WATCHED_DIR": str(tmp_path / "library"), "CONFIG_DIR": str(tmp_path / "config")}
    seed = {**plain, "GUNICORN_WORKERS": "not a number", "PROCESS_SCRIPT": "/no/such/script.py"}
    assert load_settings(seed) == load_settings(plain)


def test_serve_starts_with_them_and_says_once_that_they_are_not_needed(tmp_path: Path) -> None:
    watched, config = tmp_path / "library", tmp_path / "config"
    watched.mkdir()
    port = free_port()
    env = {
        **os.environ,
        "WATCHED_DIR": str(watched),
        "CONFIG_DIR": str(config),
        "WEB_PORT": str(port),
        "GUNICORN_WORKERS": "-3",  # the seed's default was 2; even a nonsense value is no error
        "PROCESS_SCRIPT": "/app/process_file.py",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "comicmaintainer.cli", "serve", "--host", "127.0.0.1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        up = poll(lambda: httpx.get(f"http://127.0.0.1:{port}/api/health").status_code == 200)
        assert up, "server did not come up"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode in (0, -signal.SIGTERM), stderr
    assert "Traceback" not in stderr and "error" not in stderr.lower(), stderr
    log = (config / "Log" / "ComicMaintainer.log").read_text(encoding="utf-8")
    for text in (stderr, log):
        assert text.count(GUNICORN_LINE) == 1, text
        assert text.count(SCRIPT_LINE) == 1, text
