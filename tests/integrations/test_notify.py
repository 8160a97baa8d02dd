"""Notifications through real Apprise to a fake JSON endpoint on loopback: grouping, switches, secrets."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest

from comicmaintainer.integration_settings import NOTIFY_EVENTS
from comicmaintainer.integrations.notify import JobSummary, Notifier
from comicmaintainer.integrations.secrets import (
    MASK,
    Redactor,
    keep_secrets,
    keep_urls,
    mask_servers,
    mask_url,
)
from tests.integrations.fakes import FakeNotify

SECRET = "pass-word-98765"


@pytest.fixture
def endpoint() -> Iterator[FakeNotify]:
    fake = FakeNotify()
    yield fake
    fake.close()


@pytest.fixture
def notifier() -> Iterator[Notifier]:
    sender = Notifier()
    yield sender
    sender.stop()


def summary(job_id: int, source: str = "web", failed: int = 1) -> JobSummary:
    return JobSummary(
        job_id, "process", source, "failed" if failed else "completed", 10, 8, failed, 10 - 8 - failed,
        failures=[f"A/{job_id}-{n}.cbz: broken" for n in range(failed)],
        duplicates=[f"A/{job_id}-dup.cbz: duplicate of A/x.cbz"],
    )  # fmt: skip


def url_of(fake: FakeNotify) -> str:
    return f"json://user:{SECRET}@127.0.0.1:{fake.port}/"


def test_a_persons_job_is_one_message_per_kind(endpoint: FakeNotify, notifier: Notifier) -> None:
    notifier.configure((url_of(endpoint),), dict(NOTIFY_EVENTS), group_seconds=60)
    notifier.job_finished(summary(7, failed=30))
    titles = [m["title"] for m in endpoint.wait_for(3) and endpoint.messages()]
    assert notifier.wait_idle(10)
    assert titles == [
        "Job 7 (process) failed",
        "30 file(s) failed in job 7",
        "1 duplicate(s) set aside in job 7",
    ]
    failures = endpoint.messages()[1]["message"].splitlines()
    assert len(failures) == 21 and failures[-1] == "… and 10 more"  # 20 listed, the rest counted
    assert len(endpoint.seen) == 3


def test_watcher_jobs_and_notes_are_grouped_per_window(endpoint: FakeNotify, notifier: Notifier) -> None:
    notifier.configure((url_of(endpoint),), dict(NOTIFY_EVENTS), group_seconds=0.5)
    for job_id in range(1, 41):
        notifier.job_finished(summary(job_id, source="watcher"))
    notifier.note("series_match", "One Piece needs a match")
    notifier.note("series_match", "Berserk needs a match")
    endpoint.wait_for(4)
    assert notifier.wait_idle(10)
    by_title = {m["title"]: m["message"] for m in endpoint.messages()}
    assert set(by_title) == {
        "40 watcher jobs finished",
        "40 file(s) failed in 40 jobs",
        "40 duplicate(s) set aside in 40 jobs",
        "2 series need a match",
    }
    assert by_title["40 watcher jobs finished"] == "400 file(s): 320 done, 40 failed, 40 unchanged"
    assert len(endpoint.seen) == 4


def test_each_kind_can_be_switched_off(endpoint: FakeNotify, notifier: Notifier) -> None:
    events = {**NOTIFY_EVENTS, "job_finished": False, "duplicate": False}
    notifier.configure((url_of(endpoint),), events, group_seconds=0)
    notifier.job_finished(summary(3))
    endpoint.wait_for(1)
    assert notifier.wait_idle(10)
    assert [m["title"] for m in endpoint.messages()] == ["1 file(s) failed in job 3"]


def test_send_test_reports_each_url_masked(
    endpoint: FakeNotify, notifier: Notifier, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    dead_port = closed.getsockname()[1]
    closed.close()  # nothing listens there: the connection is refused
    dead = f"json://user:{SECRET}@127.0.0.1:{dead_port}/"
    redactor = Redactor()
    redactor.set_secrets([], [url_of(endpoint), dead])
    logging.getLogger("apprise").addFilter(redactor)
    try:
        notifier.configure((url_of(endpoint), dead), dict(NOTIFY_EVENTS), group_seconds=0)
        results = notifier.send_test()
    finally:
        logging.getLogger("apprise").removeFilter(redactor)
    assert [r["ok"] for r in results] == [True, False]
    assert endpoint.messages()[0]["title"] == "ComicMaintainer test"
    assert SECRET not in str(results) and SECRET not in caplog.text
    assert "not delivered" in caplog.text


def test_masks_and_kept_secrets() -> None:
    url = f"json://user:{SECRET}@example.org/hook"
    shown = mask_url(url)
    assert SECRET not in shown and shown.startswith("json://")
    assert keep_urls([shown, "ntfy://topic"], [url]) == [url, "ntfy://topic"]
    assert SECRET not in mask_url(f"discord://{SECRET}/{SECRET}") and SECRET not in mask_url(
        f"odd://{SECRET}"
    )
    stored = [{"name": "k", "api_key": "real-key", "password": ""}]
    assert mask_servers(stored) == [{"name": "k", "api_key": MASK, "password": ""}]
    assert keep_secrets([{"name": "k", "api_key": MASK, "password": "new"}], stored) == [
        {"name": "k", "api_key": "real-key", "password": "new"}
    ]
    assert keep_secrets([{"name": "other", "api_key": MASK}], stored)[0]["api_key"] == ""
