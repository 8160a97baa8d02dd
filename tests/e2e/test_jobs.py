"""Jobs seen live in a real browser: progress while it runs, cancel, retry, reload and a dropped stream.

A library of about 150 archives with 100 KB pages and one job worker takes a few seconds to process,
long enough to watch the counters move and to act in the middle of a job.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Served, job_text, shot, wait_job_final, wait_loaded_after

BIG = {"series": 6, "per_series": 25, "page_bytes": 60_000}

RECORD_PROGRESS = """() => {
    window.__samples = [];
    const node = document.querySelector('#job-count');
    new MutationObserver(() => window.__samples.push(node.textContent))
        .observe(node, {childList: true, characterData: true, subtree: true});
}"""


@pytest.fixture
def big(serve: Any) -> Served:
    return serve(**BIG)


def counts(text: str) -> tuple[int, int]:
    done, total = (int(x) for x in text.split("/"))
    return done, total


def wait_processed(page: Any, at_least: int) -> None:
    page.wait_for_function(
        f"Number(document.querySelector('#job-count').textContent.split('/')[0]) >= {at_least}",
        timeout=20_000,
    )


def current_job_id(page: Any) -> int:
    return int(page.evaluate("window.__cm.jobs.currentId"))


def test_process_selected_shows_progress_while_it_runs(big: Served, open_page: Any) -> None:
    page = open_page(big.url)
    wait_loaded_after(page, lambda: page.click(".filter[data-filter='unprocessed']"))
    page.click("#select-all")
    page.wait_for_function("window.__cm.library.selection.size > 100")
    selected = page.evaluate("window.__cm.library.selection.size")
    page.evaluate(RECORD_PROGRESS)
    with page.expect_response(lambda r: r.url.endswith("/api/jobs") and r.request.method == "POST") as posted:
        page.click("#process-selected")
    job = posted.value.json()
    assert job["scope"] == "selected" and job["total"] == selected

    wait_processed(page, 10)
    assert page.is_visible("#live[data-state='live']")
    shot(page, "job-running")
    wait_job_final(page)

    samples = [counts(s) for s in page.evaluate("window.__samples")]
    done = [d for d, _ in samples]
    middle = [d for d in done if 0 < d < selected]
    assert len(set(middle)) >= 3, f"too few intermediate values seen: {samples[:20]}"
    assert done == sorted(done), "progress went backwards"
    assert counts(job_text(page)["count"]) == (selected, selected)
    # The one broken archive fails, and its reason is listed as it happens.
    assert int(job_text(page)["failed"]) >= 1
    assert "broken download" in page.inner_text("#job-failures")
    # file_changed events updated the counts without a reload.
    page.wait_for_function("document.querySelector('[data-count=processed]').textContent !== '(0)'")


def test_cancel_stops_a_running_job(big: Served, open_page: Any) -> None:
    page = open_page(big.url)
    page.click("#process-all")
    wait_processed(page, 3)
    page.click("#job-cancel")
    assert wait_job_final(page) == "cancelled"
    done, total = counts(job_text(page)["count"])
    assert done < total
    assert page.is_disabled("#job-cancel")


def test_retry_failed_runs_only_the_failed_items(served: Served, open_page: Any) -> None:
    page = open_page(served.url)
    page.click("#process-all")
    assert wait_job_final(page) == "failed"
    first = current_job_id(page)
    failed = int(job_text(page)["failed"])
    assert failed >= 1 and page.is_enabled("#job-retry")

    page.click("#job-retry")
    page.wait_for_function(f"window.__cm.jobs.currentId !== {first}")
    wait_job_final(page)
    assert counts(job_text(page)["count"])[1] == failed
    # The retry's own events can outrun the POST's answer, which alone says what it retries.
    current = "window.__cm.jobs.jobs.get(window.__cm.jobs.currentId)"
    page.wait_for_function(f"{current}.retry_of !== undefined")
    assert page.evaluate(current)["retry_of"] == first
    assert page.locator(f"#job-list [data-job-row='{first}']").count() == 1


def test_reload_during_a_job_finds_it_and_goes_on(big: Served, open_page: Any) -> None:
    page = open_page(big.url)
    page.click("#process-all")
    wait_processed(page, 5)
    job_id = current_job_id(page)

    page.reload()
    page.wait_for_selector("html[data-ready='1']")
    assert current_job_id(page) == job_id
    assert page.text_content("#job-status") in ("running", "queued")
    at_reload, total = counts(job_text(page)["count"])
    assert at_reload < total
    page.evaluate(RECORD_PROGRESS)
    wait_job_final(page)
    assert any(at_reload < counts(s)[0] < total for s in page.evaluate("window.__samples"))
    assert counts(job_text(page)["count"]) == (total, total)


def test_dropped_stream_shows_a_banner_reconnects_and_counts_once(big: Served, open_page: Any) -> None:
    page = open_page(big.url)
    page.click("#process-all")
    wait_processed(page, 5)
    job_id = current_job_id(page)

    page.evaluate("window.__cm.stream.drop(1500)")  # as a network failure would, for 1.5 s
    assert page.is_visible("#conn-banner")
    assert page.text_content("#live-text") == "Reconnecting"
    page.wait_for_selector("#conn-banner", state="hidden", timeout=10_000)
    assert page.text_content("#live-text") == "LIVE"
    assert page.evaluate("window.__cm.stream.opens") >= 2

    wait_job_final(page)
    done, total = counts(job_text(page)["count"])
    assert done == total
    # Every item's event arrived exactly once: the replay after Last-Event-ID sent no duplicates
    # and lost nothing.
    seen = page.evaluate(f"window.__cm.jobs.itemEvents.get({job_id})")
    assert seen == total
    failed_rows = page.locator("#job-failures li").count()
    assert failed_rows == int(job_text(page)["failed"])
