"""Notifications through Apprise (Discord, Telegram, ntfy, Gotify, email and about 100 more).

Bursts are grouped, never one message per file: a job a person started gives, when it ends, one
message per enabled kind (job finished with its counts, files failed, duplicates set aside, files
needing attention). The watcher's jobs and loose notes (a series needs a match) are gathered for
``notify_group_seconds`` and then sent as one message per kind. Sending happens on the notifier's
own thread; a failure is logged with the URL masked.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from comicmaintainer.integration_settings import NOTIFY_EVENTS
from comicmaintainer.integrations.secrets import load_apprise, mask_url

log = logging.getLogger("comicmaintainer.notify")

MAX_LINES = 20  # file lines in one message; the rest are counted
KINDS = tuple(NOTIFY_EVENTS)
TITLES = {
    "file_failed": "{n} file(s) failed",
    "duplicate": "{n} duplicate(s) set aside",
    "needs_attention": "{n} file(s) need attention",
    "series_match": "{n} series need a match",
}
# (url, title, body, Apprise notify type) -> whether that URL took it
Send = Callable[[str, str, str, str], bool]
_WAKE = ("", "", "")  # queued to make the thread look at the grouping window again


@dataclass
class JobSummary:
    """What a finished job did, from the store (not from events, which a slow reader may miss)."""

    job_id: int
    kind: str
    source: str
    status: str
    total: int
    succeeded: int
    failed: int
    skipped: int
    failures: list[str] = field(default_factory=list)  # "path: error"
    duplicates: list[str] = field(default_factory=list)
    attention: list[str] = field(default_factory=list)

    def lines(self, kind: str) -> list[str]:
        return {
            "file_failed": self.failures,
            "duplicate": self.duplicates,
            "needs_attention": self.attention,
        }.get(kind, [])


@dataclass
class _Group:
    """What waits for the end of the current grouping window."""

    due: float
    jobs: list[JobSummary] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)


class Notifier:
    def __init__(self, send: Send | None = None) -> None:
        self._send = send or _apprise_one
        self._lock = threading.Lock()
        self._urls: tuple[str, ...] = ()
        self._events: dict[str, bool] = dict(NOTIFY_EVENTS)
        self._group_seconds = 60.0
        self._group: _Group | None = None
        self._queue: queue.Queue[tuple[str, str, str] | None] = queue.Queue()
        self._sent = 0
        self._thread = threading.Thread(target=self._loop, name="notifications", daemon=True)
        self._thread.start()

    def configure(self, urls: tuple[str, ...], events: dict[str, bool], group_seconds: float) -> None:
        with self._lock:
            self._urls, self._events, self._group_seconds = tuple(urls), dict(events), group_seconds
        self._queue.put(_WAKE)

    def job_finished(self, summary: JobSummary) -> None:
        """A job ended. The watcher's jobs are grouped by time; a person's job is told at once."""
        if summary.source != "watcher":
            for message in job_messages([summary], self._enabled()):
                self._queue.put(message)
            return
        with self._lock:
            self._current_group().jobs.append(summary)
        self._queue.put(_WAKE)

    def note(self, kind: str, line: str) -> None:
        """One thing to tell outside a job (e.g. kind "series_match"), grouped with others by time."""
        if kind not in KINDS:
            raise ValueError(f"unknown notification kind {kind!r}")
        with self._lock:
            self._current_group().notes.setdefault(kind, []).append(line)
        self._queue.put(_WAKE)

    def send_test(self) -> list[dict[str, Any]]:
        """One test message to every URL, now; each URL's answer, the URL masked."""
        results = self._deliver("ComicMaintainer test", "If you can read this, notifications work.", "info")
        return [{"url": mask_url(url), "ok": ok} for url, ok in results]

    @property
    def sent(self) -> int:
        """Messages handed to Apprise so far (each to every URL)."""
        return self._sent

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing is grouped or queued (for tests and shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                grouped = self._group is not None
            if not grouped and self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.02)  # a poll bound, not a proof: callers assert on what arrived
        return False

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=15)

    def _enabled(self) -> dict[str, bool]:
        with self._lock:
            return dict(self._events)

    def _current_group(self) -> _Group:
        if self._group is None:
            self._group = _Group(due=time.monotonic() + self._group_seconds)
        return self._group

    def _loop(self) -> None:
        while True:
            self._flush_due_group()
            try:
                message = self._queue.get(timeout=self._wait_time())
            except queue.Empty:
                continue
            try:
                if message is None:
                    return
                if message != _WAKE:
                    self._deliver(*message)
            finally:
                self._queue.task_done()

    def _wait_time(self) -> float | None:
        """Until the window closes; with no window open, until something is queued."""
        with self._lock:
            group = self._group
        return None if group is None else max(0.0, group.due - time.monotonic())

    def _flush_due_group(self) -> None:
        with self._lock:
            group = self._group
            if group is None or group.due > time.monotonic():
                return
            self._group = None
            # Queued under the lock, so wait_idle never sees the messages in neither place.
            for message in job_messages(group.jobs, self._events) + note_messages(group.notes, self._events):
                self._queue.put(message)

    def _deliver(self, title: str, body: str, kind: str) -> list[tuple[str, bool]]:
        with self._lock:
            urls = self._urls
        results = [(url, self._send(url, title, body, kind)) for url in urls]
        self._sent += 1
        for url, ok in results:
            if not ok:
                log.warning("notification %r to %s was not delivered", title, mask_url(url))
        return results


def _apprise_one(url: str, title: str, body: str, kind: str) -> bool:
    """One Apprise object per URL, so that the page can say which URL failed."""
    sender = load_apprise().Apprise()
    if not sender.add(url):
        return False
    return bool(sender.notify(body=body, title=title, notify_type=kind))


def job_messages(jobs: list[JobSummary], events: dict[str, bool]) -> list[tuple[str, str, str]]:
    """(title, body, type) per enabled kind for these jobs together (one job, or a window's worth)."""
    if not jobs:
        return []
    messages = []
    if events.get("job_finished"):
        messages.append(_finished(jobs))
    for kind in ("file_failed", "duplicate", "needs_attention"):
        lines = [line for job in jobs for line in job.lines(kind)]
        if events.get(kind) and lines:
            messages.append(_listing(kind, lines, _where(jobs)))
    return messages


def note_messages(notes: dict[str, list[str]], events: dict[str, bool]) -> list[tuple[str, str, str]]:
    return [_listing(kind, lines, "") for kind, lines in sorted(notes.items()) if events.get(kind) and lines]


def _finished(jobs: list[JobSummary]) -> tuple[str, str, str]:
    total = {key: sum(getattr(j, key) for j in jobs) for key in ("total", "succeeded", "failed", "skipped")}
    if len(jobs) == 1:
        job = jobs[0]
        title = f"Job {job.job_id} ({job.kind}) {job.status}"
    else:
        title = f"{len(jobs)} watcher jobs finished"
    body = (
        f"{total['total']} file(s): {total['succeeded']} done, {total['failed']} failed, "
        f"{total['skipped']} unchanged"
    )
    kind = "warning" if total["failed"] or any(j.status != "completed" for j in jobs) else "success"
    return title, body, kind


def _listing(kind: str, lines: list[str], where: str) -> tuple[str, str, str]:
    shown = lines[:MAX_LINES]
    more = [f"… and {len(lines) - MAX_LINES} more"] if len(lines) > MAX_LINES else []
    title = TITLES[kind].format(n=len(lines)) + where
    return title, "\n".join(shown + more), "failure" if kind == "file_failed" else "warning"


def _where(jobs: list[JobSummary]) -> str:
    return f" in job {jobs[0].job_id}" if len(jobs) == 1 else f" in {len(jobs)} jobs"
