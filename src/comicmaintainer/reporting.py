"""Optional automatic GitHub issues for unexpected errors.

Turned on by `GITHUB_TOKEN` and `GITHUB_REPOSITORY` (`owner/name`); `GITHUB_ISSUE_ASSIGNEE` assigns
the issues, `GITHUB_API_URL` points at another API (default the public one). `install_error_reports`
adds a `logging.Handler` to the root logger: every ERROR record that carries an exception becomes one
issue with the stack trace, the version and the context (`extra={"operation": ..., "path": ...}` on the
log call; paths shown relative to WATCHED_DIR).

Rules that keep it harmless:
- Nothing secret leaves: values of environment variables whose names look secret (token, password,
  key, hash …), bearer tokens and GitHub token shapes are replaced by `[redacted]` in every text.
- Identical errors (same exception type along the same chain of functions) are reported once; the
  last 100 fingerprints are kept in `CONFIG_DIR/error_reports.json`, so a restart does not repeat them.
- At most `MAX_PER_HOUR` issues an hour; a bounded queue; one background thread; network timeouts.
  Logging an error never waits for GitHub and never fails because of it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import queue
import re
import threading
import time
import traceback
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from comicmaintainer import __version__
from comicmaintainer.config import ConfigError, Settings

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.github.com"
STATE_FILE = "error_reports.json"
REMEMBERED = 100
MAX_PER_HOUR = 5
QUEUE_SIZE = 20
TIMEOUT_SECONDS = 10.0
MAX_BODY_CHARS = 60_000  # GitHub refuses issue bodies over 65,536 characters
REDACTED = "[redacted]"
_SECRET_NAME = re.compile(r"TOKEN|PASSWORD|PASSWD|SECRET|KEY|HASH|CREDENTIAL|COOKIE|SESSION", re.I)
_SECRET_SHAPES = (
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"),
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"(?i)\bbearer\s+[^\s'\"]+"),
    re.compile(r"\$argon2[a-z]*\$[^\s'\"]+"),
    re.compile(r"(?i)\b(password|passwd|token|secret)=[^\s&'\"]+"),
)

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


@dataclass(frozen=True)
class ReportConfig:
    token: str
    repository: str
    assignee: str | None = None
    api_url: str = DEFAULT_API_URL

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> ReportConfig | None:
        """The reporting settings, or None when reporting is off; a bad value raises `ConfigError`."""
        token = environ.get("GITHUB_TOKEN", "").strip()
        repository = environ.get("GITHUB_REPOSITORY", "").strip()
        if not token or not repository:
            return None
        if not re.fullmatch(r"[\w.-]+/[\w.-]+", repository):
            raise ConfigError(f"GITHUB_REPOSITORY must look like owner/name, got {repository!r}")
        api_url = environ.get("GITHUB_API_URL", "").strip().rstrip("/") or DEFAULT_API_URL
        if not api_url.startswith(("https://", "http://")):
            raise ConfigError(f"GITHUB_API_URL must be an http(s) URL, got {api_url!r}")
        assignee = environ.get("GITHUB_ISSUE_ASSIGNEE", "").strip() or None
        return cls(token=token, repository=repository, assignee=assignee, api_url=api_url)


@dataclass(frozen=True)
class Report:
    fingerprint: str
    title: str
    body: str


class Scrubber:
    """Removes secrets and absolute library paths from text bound for a public issue."""

    def __init__(self, environ: Mapping[str, str], watched_dir: Path | None, config_dir: Path | None) -> None:
        values: set[str] = set()
        for name, value in environ.items():
            if _SECRET_NAME.search(name):
                values.update(v.strip() for v in value.split(",") if len(v.strip()) >= 4)
        self.secrets = sorted(values, key=len, reverse=True)  # longest first: no partial leftovers
        self.places = [
            (str(p), f"<{n}>") for p, n in ((watched_dir, "WATCHED_DIR"), (config_dir, "CONFIG_DIR")) if p
        ]
        self.watched_dir = watched_dir

    def text(self, value: str) -> str:
        for secret in self.secrets:
            value = value.replace(secret, REDACTED)
        for shape in _SECRET_SHAPES:
            value = shape.sub(REDACTED, value)
        for place, name in self.places:
            value = value.replace(place.rstrip("/") + "/", name + "/")
        return re.sub(r"\S*/site-packages/", "", value)

    def path(self, raw: object) -> str:
        """A library path relative to WATCHED_DIR; anything else shows only its file name."""
        text = str(raw)
        path = Path(text)
        if not path.is_absolute():
            return self.text(text)
        if self.watched_dir is not None and path.is_relative_to(self.watched_dir):
            return self.text(path.relative_to(self.watched_dir).as_posix())
        return self.text(path.name)


def fingerprint(exc_info: ExcInfo) -> str:
    """Same exception type raised along the same chain of functions → same fingerprint.

    Line numbers and messages are left out on purpose: they change with every release or file name.
    """
    kind, _, tb = exc_info
    frames = [f"{Path(f.filename).name}:{f.name}" for f in traceback.extract_tb(tb)]
    text = f"{kind.__module__}.{kind.__qualname__}|" + "|".join(frames)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def build_report(record: logging.LogRecord, scrub: Scrubber, version: str = __version__) -> Report:
    """The issue for a log record that carries an exception."""
    assert record.exc_info is not None and record.exc_info[0] is not None
    exc_info: ExcInfo = record.exc_info
    kind, exc, _ = exc_info
    summary = scrub.text(f"{kind.__name__}: {exc}".splitlines()[0] if str(exc) else kind.__name__)
    trace = scrub.text("".join(traceback.format_exception(*exc_info)))
    operation = getattr(record, "operation", None) or f"{record.name}: {scrub.text(record.getMessage())}"
    path = getattr(record, "path", None)
    file_line = f"**File:** `{scrub.path(path)}`\n" if path else ""
    digest = fingerprint(exc_info)
    body = (
        f"An unexpected error, reported automatically by ComicMaintainer {version}.\n\n"
        f"**Operation:** {scrub.text(str(operation))}\n{file_line}"
        f"**Error:** `{summary}`\n"
        f"**Python:** {platform.python_version()} on {platform.system()}\n"
        f"**Fingerprint:** `{digest}`\n\n"
        f"<details><summary>Stack trace</summary>\n\n```\n{trace[-MAX_BODY_CHARS:]}\n```\n</details>\n"
    )
    title = f"[auto] {summary}"
    return Report(digest, title if len(title) <= 120 else title[:117] + "...", body)


class FingerprintMemory:
    """The last `limit` reported fingerprints, kept in a JSON file that survives restarts."""

    def __init__(self, path: Path, limit: int = REMEMBERED) -> None:
        self.path = path
        self.limit = limit
        self.items: deque[str] = deque(self._load(), maxlen=limit)

    def __contains__(self, digest: str) -> bool:
        return digest in self.items

    def add(self, digest: str) -> None:
        if digest not in self.items:
            self.items.append(digest)
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            tmp.write_text(json.dumps({"fingerprints": list(self.items)}), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("cannot save %s: %s", self.path, exc.strerror or exc)

    def _load(self) -> list[str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            items = data.get("fingerprints", []) if isinstance(data, dict) else []
            return [str(i) for i in items][-self.limit :]
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable %s: %s", self.path, exc)
            return []


class ErrorReporter:
    """Sends reports from one background thread; `submit` never blocks and never raises."""

    def __init__(
        self,
        config: ReportConfig,
        memory: FingerprintMemory,
        *,
        max_per_hour: int = MAX_PER_HOUR,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.config = config
        self.memory = memory
        self.max_per_hour = max_per_hour
        self.timeout = timeout
        self._queue: queue.Queue[Report | None] = queue.Queue(QUEUE_SIZE)
        self._pending: set[str] = set()
        self._sent_at: deque[float] = deque()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="error-reports", daemon=True)
        self._thread.start()

    def submit(self, report: Report) -> bool:
        """Queue `report` unless it is known, pending, over the hourly limit or the queue is full."""
        with self._lock:
            if report.fingerprint in self.memory or report.fingerprint in self._pending:
                return False
            now = time.monotonic()
            while self._sent_at and self._sent_at[0] < now - 3600:
                self._sent_at.popleft()
            if len(self._sent_at) >= self.max_per_hour:
                return False
            try:
                self._queue.put_nowait(report)
            except queue.Full:
                return False
            self._sent_at.append(now)
            self._pending.add(report.fingerprint)
            return True

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """True once every queued report has been sent or given up (for tests and shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.01)
        return False

    def close(self, timeout: float = 5.0) -> None:
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            report = self._queue.get()
            try:
                if report is None:
                    return
                self._send(report)
            except Exception as exc:  # noqa: BLE001 - reporting must never take anything down
                log.warning("error report not sent: %s", exc)
            finally:
                if report is not None:
                    with self._lock:
                        self._pending.discard(report.fingerprint)
                self._queue.task_done()

    def _send(self, report: Report) -> None:
        payload: dict[str, object] = {"title": report.title, "body": report.body}
        if self.config.assignee:
            payload["assignees"] = [self.config.assignee]
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in ReportConfig
            f"{self.config.api_url}/repos/{self.config.repository}/issues",
            data=json.dumps(payload).encode(),
            method="POST",
            headers={
                "Authorization": f"Bearer {self.config.token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": f"comicmaintainer/{__version__}",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310  # nosec B310
                status = response.status
        except urllib.error.HTTPError as exc:
            log.warning("error report refused by GitHub: HTTP %s %s", exc.code, exc.reason)
            return
        except (urllib.error.URLError, OSError) as exc:
            log.warning("error report not sent: %s", getattr(exc, "reason", exc))
            return
        if 200 <= status < 300:
            with self._lock:
                self.memory.add(report.fingerprint)


class ReportingHandler(logging.Handler):
    """Turns ERROR records that carry an exception into queued reports."""

    def __init__(self, reporter: ErrorReporter, scrubber: Scrubber) -> None:
        super().__init__(logging.ERROR)
        self.reporter = reporter
        self.scrubber = scrubber

    def emit(self, record: logging.LogRecord) -> None:
        if not record.exc_info or record.exc_info[0] is None or record.name == __name__:
            return
        try:
            self.reporter.submit(build_report(record, self.scrubber))
        except Exception:  # noqa: BLE001 - a broken report must not break the caller's logging
            self.handleError(record)


def install_error_reports(
    settings: Settings, environ: Mapping[str, str] = os.environ, logger: logging.Logger | None = None
) -> ReportingHandler | None:
    """Attach the reporting handler to `logger` (default the root logger) when reporting is configured."""
    config = ReportConfig.from_environ(environ)
    if config is None:
        return None
    memory = FingerprintMemory(settings.config_dir / STATE_FILE)
    scrubber = Scrubber(environ, settings.watched_dir, settings.config_dir)
    handler = ReportingHandler(ErrorReporter(config, memory), scrubber)
    (logger or logging.getLogger()).addHandler(handler)
    log.info("unexpected errors are reported to %s", config.repository)
    return handler
