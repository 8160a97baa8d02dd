"""Automatic GitHub issues, against a small fake GitHub API on loopback."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from comicmaintainer.config import ConfigError, Settings
from comicmaintainer.reporting import (
    REDACTED,
    FingerprintMemory,
    ReportConfig,
    ReportingHandler,
    install_error_reports,
)
from tests.conftest import make_settings

TOKEN = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
PASSWORD = "hunter2-but-longer"


@dataclass
class FakeGitHub:
    """Records issue creations; `status` and `delay` make it fail or dawdle."""

    url: str = ""
    issues: list[dict[str, Any]] = field(default_factory=list)
    status: int = 201
    delay: float = 0.0


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            time.sleep(fake.delay)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            fake.issues.append({"path": self.path, "headers": dict(self.headers), "json": body})
            answer = json.dumps({"number": len(fake.issues)}).encode()
            try:
                self.send_response(fake.status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the reporter gave up waiting, as it should

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    watched = tmp_path / "library"
    watched.mkdir()
    return make_settings(watched, tmp_path)


def environ(github: FakeGitHub, **extra: str) -> dict[str, str]:
    return {
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": "someone/comics",
        "GITHUB_ISSUE_ASSIGNEE": "keeper",
        "GITHUB_API_URL": github.url,
        "AUTH_PASSWORD": PASSWORD,
        **extra,
    }


@pytest.fixture
def reporting(settings: Settings, github: FakeGitHub) -> Iterator[tuple[logging.Logger, ReportingHandler]]:
    logger = logging.getLogger(f"test.reporting.{id(settings)}")
    logger.propagate = False
    handler = install_error_reports(settings, environ(github), logger=logger)
    assert handler is not None
    yield logger, handler
    handler.reporter.close()
    logger.removeHandler(handler)


def fail_reading(path: Path) -> None:
    raise OSError(f"cannot read {path} with token={TOKEN} and {PASSWORD}")


def log_failure(logger: logging.Logger, path: Path, fn: Any = fail_reading) -> None:
    try:
        fn(path)
    except OSError:
        logger.exception("processing failed", extra={"operation": "process", "path": str(path)})


def test_an_error_becomes_one_scrubbed_issue(settings: Settings, github: FakeGitHub, reporting: Any) -> None:
    logger, handler = reporting
    target = settings.watched_dir / "Saga" / "Saga 001.cbz"
    log_failure(logger, target)
    assert handler.reporter.wait_idle(10)
    assert len(github.issues) == 1
    issue = github.issues[0]
    assert issue["path"] == "/repos/someone/comics/issues"
    assert issue["headers"]["Authorization"] == f"Bearer {TOKEN}"
    body = issue["json"]["body"]
    assert issue["json"]["assignees"] == ["keeper"]
    assert issue["json"]["title"].startswith("[auto] OSError: cannot read")
    assert "**Operation:** process" in body and "**File:** `Saga/Saga 001.cbz`" in body
    assert "fail_reading" in body and "Traceback" in body and "0.1.0" in body
    text = json.dumps(issue["json"])
    assert TOKEN not in text and PASSWORD not in text and REDACTED in text
    assert str(settings.watched_dir) not in text and "<WATCHED_DIR>/Saga/Saga 001.cbz" in text


def test_identical_errors_are_reported_once_across_restarts(
    settings: Settings, github: FakeGitHub, reporting: Any
) -> None:
    logger, handler = reporting
    for name in ("a.cbz", "b.cbz", "c.cbz"):
        log_failure(logger, settings.watched_dir / name)
    assert handler.reporter.wait_idle(10)
    assert len(github.issues) == 1
    saved = json.loads((settings.config_dir / "error_reports.json").read_text())
    assert len(saved["fingerprints"]) == 1

    # A restart: a new handler over the same CONFIG_DIR remembers it.
    again = install_error_reports(settings, environ(github), logger=logging.getLogger("test.reporting.again"))
    assert again is not None
    try:
        log_failure(logging.getLogger("test.reporting.again"), settings.watched_dir / "d.cbz")
        assert again.reporter.wait_idle(10) and len(github.issues) == 1

        def other_failure(path: Path) -> None:
            raise OSError("another place")

        log_failure(logging.getLogger("test.reporting.again"), settings.watched_dir / "e.cbz", other_failure)
        assert again.reporter.wait_idle(10) and len(github.issues) == 2
    finally:
        again.reporter.close()
        logging.getLogger("test.reporting.again").removeHandler(again)


def test_only_errors_with_a_trace_are_reported(github: FakeGitHub, reporting: Any) -> None:
    logger, handler = reporting
    logger.error("a plain error line")
    logger.warning("a warning", exc_info=(ValueError, ValueError("x"), None))
    assert handler.reporter.wait_idle(10)
    assert github.issues == []


def test_rate_limit(settings: Settings, github: FakeGitHub, reporting: Any) -> None:
    logger, handler = reporting
    handler.reporter.max_per_hour = 2
    for i in range(4):
        exec_globals: dict[str, Any] = {}
        # Four distinct call chains, so four distinct fingerprints.
        exec(f"def fail_{i}(p):\n    raise OSError('x')", exec_globals)
        log_failure(logger, settings.watched_dir / "x.cbz", exec_globals[f"fail_{i}"])
    assert handler.reporter.wait_idle(10)
    assert len(github.issues) == 2


def test_a_broken_or_slow_github_never_holds_up_the_caller(
    settings: Settings, github: FakeGitHub, reporting: Any, caplog: pytest.LogCaptureFixture
) -> None:
    logger, handler = reporting
    handler.reporter.timeout = 0.3
    github.status, github.delay = 500, 1.0
    started = time.monotonic()
    log_failure(logger, settings.watched_dir / "x.cbz")
    assert time.monotonic() - started < 0.2  # the caller went on at once
    with caplog.at_level(logging.WARNING, logger="comicmaintainer.reporting"):
        assert handler.reporter.wait_idle(10)
    assert any("not sent" in r.getMessage() or "refused" in r.getMessage() for r in caplog.records)
    # Not remembered, so it is tried again once GitHub is back.
    github.status, github.delay = 201, 0.0
    log_failure(logger, settings.watched_dir / "x.cbz")
    assert handler.reporter.wait_idle(10)
    assert github.issues[-1]["json"]["title"].startswith("[auto] OSError")


def test_unreachable_github(settings: Settings, tmp_path: Path) -> None:
    logger = logging.getLogger("test.reporting.unreachable")
    handler = install_error_reports(
        settings,
        {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": "a/b", "GITHUB_API_URL": "http://127.0.0.1:9"},
        logger,
    )
    assert handler is not None
    try:
        log_failure(logger, settings.watched_dir / "x.cbz")
        assert handler.reporter.wait_idle(15)
        assert not (settings.config_dir / "error_reports.json").exists()
    finally:
        handler.reporter.close()
        logger.removeHandler(handler)


def test_memory_keeps_the_last_hundred(tmp_path: Path) -> None:
    memory = FingerprintMemory(tmp_path / "state.json")
    for i in range(105):
        memory.add(f"fp{i}")
    reloaded = FingerprintMemory(tmp_path / "state.json")
    assert "fp104" in reloaded and "fp5" in reloaded and "fp4" not in reloaded
    assert len(reloaded.items) == 100
    (tmp_path / "state.json").write_text("not json")
    assert FingerprintMemory(tmp_path / "state.json").items == type(memory.items)()


def test_configuration() -> None:
    assert ReportConfig.from_environ({}) is None
    assert ReportConfig.from_environ({"GITHUB_TOKEN": "x"}) is None
    config = ReportConfig.from_environ({"GITHUB_TOKEN": "x", "GITHUB_REPOSITORY": "a/b"})
    assert config is not None and config.api_url == "https://api.github.com" and config.assignee is None
    with pytest.raises(ConfigError, match="owner/name"):
        ReportConfig.from_environ({"GITHUB_TOKEN": "x", "GITHUB_REPOSITORY": "nope"})
    with pytest.raises(ConfigError, match="http"):
        ReportConfig.from_environ(
            {"GITHUB_TOKEN": "x", "GITHUB_REPOSITORY": "a/b", "GITHUB_API_URL": "file:///x"}
        )
