"""The reader-server and notification panel, and the series check with a one-click fix, in Chromium."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.conftest import Served, shot, wait_job_final
from tests.integrations.fakes import FakeKomga

KEY = "page-secret-key-31337"


def test_a_server_is_added_tested_and_its_key_never_shown(served: Served, open_page: Any) -> None:
    komga = FakeKomga(api_key=KEY, libraries=[{"id": "L1", "name": "Comics", "root": "/comics"}])
    try:
        page = open_page(served.url)
        page.click("#menu-button")
        page.click("[data-open='dlg-integrations']")
        page.wait_for_selector("#integrations-form[data-loaded='1']")
        page.click("#server-add")
        box = page.locator("#servers-list fieldset.server").last
        box.locator("[data-key='name']").fill("home")
        box.locator("[data-key='url']").fill(komga.url)
        box.locator("[data-key='api_key']").fill(KEY)
        box.locator("[data-key='remote_root']").fill("/comics")
        page.locator("[data-event='duplicate']").uncheck()
        page.click("#integrations-save")
        page.wait_for_function("document.querySelector('#servers-list legend')?.textContent === 'home'")
        assert page.locator("[data-key='api_key']").input_value() == "********"
        page.locator("#servers-list .server-test").click()
        page.wait_for_function("document.querySelector('.server-state').textContent.startsWith('connected')")
        assert "Comics (L1) → the whole library" in (page.text_content(".server-state") or "")
        shot(page, "reader-servers")
        page.click("#integrations-save")  # saved again with the mask: the key stays
        page.wait_for_function("document.querySelector('#integrations-error').textContent === ''")
        stored = served.service.settings
        assert stored.reader_servers[0]["api_key"] == KEY and stored.notify_events["duplicate"] is False
        assert KEY not in page.content() and KEY not in httpx.get(served.url + "/api/integrations").text
        assert page.errors == []
    finally:
        komga.close()


def test_the_series_check_lists_findings_and_fixes_a_folder(served: Served, open_page: Any) -> None:
    page = open_page(served.url)
    page.click("#menu-button")
    page.click("[data-open='dlg-check']")
    page.click("#check-run")
    page.wait_for_selector("#check-result .finding")
    folder_finding = page.locator(".finding[data-kind='number_missing']", has_text="Vinland Saga")
    assert folder_finding.count() == 1
    shot(page, "series-check")
    folder_finding.get_by_role("button", name="Normalize this folder").click()
    assert wait_job_final(page) == "completed"
    page.click("#check-run")
    page.wait_for_function(
        "!document.querySelector('#check-result').textContent.includes('Reading')"
        " && document.querySelectorAll('#check-result .finding').length > 0"
    )
    assert page.locator(".finding[data-kind='number_missing']", has_text="Vinland Saga").count() == 0
    assert page.errors == []
