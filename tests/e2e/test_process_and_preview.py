"""One file's Process button and the preview dialog, in a real browser: both go through jobs."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Served, wait_job_final, wait_loaded_after


def test_process_button_follows_its_job_and_redraws_the_list(served: Served, open_page: Any) -> None:
    page = open_page(served.url, "?q=Vinland")
    path = page.eval_on_selector("#file-list .file", "e => e.dataset.path")
    name = path.rsplit("/", 1)[-1]
    row = page.locator(f"#file-list .file[data-path='{path}']")
    button = row.get_by_role("button", name=f"Process {name}")
    with page.expect_response(lambda r: r.url.endswith("/api/files/process")) as answered:
        wait_loaded_after(page, button.click)  # the list is drawn again once the job has ended
    job = answered.value.json()
    assert answered.value.status == 202 and job["total"] == 1 and job["kind"] == "process"
    assert wait_job_final(page) == "completed"
    rows = page.eval_on_selector_all("#file-list .file", "es => es.map(e => e.dataset.path)")
    assert path not in rows and any(r.startswith("Vinland Saga/Vinland Saga - Chapter") for r in rows)
    assert not (served.root / path).exists()
    assert not page.errors


def test_preview_of_a_large_selection_shows_the_first_50_and_applies_to_all(
    serve: Any, open_page: Any
) -> None:
    served = serve(series=6, per_series=10)
    page = open_page(served.url)
    wait_loaded_after(page, lambda: page.click(".filter[data-filter='unprocessed']"))
    page.click("#select-all")
    page.wait_for_function("window.__cm.library.selection.size > 50")
    selected = page.evaluate("window.__cm.library.selection.size")
    page.click("#preview-selected")
    page.wait_for_selector("#preview-body table")
    assert page.locator("#preview-body tbody tr").count() == 50
    assert f"The first 50 of {selected} files" in page.inner_text("#preview-body")
    with page.expect_response(lambda r: r.url.endswith("/api/jobs") and r.request.method == "POST") as posted:
        page.click("#preview-apply")
    assert posted.value.json()["total"] == selected
    assert wait_job_final(page) in ("completed", "failed")  # the example library has a broken archive
    assert not page.errors
