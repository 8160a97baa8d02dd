"""Settings that change the next rename, the header tools, keyboard use and the axe-core check."""

from __future__ import annotations

from typing import Any

import httpx

from comicmaintainer.web.pages import static_version
from tests.e2e.conftest import Served, shot, wait_loaded_after
from tests.web.processing import process_now

AXE = "/static/{version}/vendor/axe-core/axe.min.js"
RUN_AXE = "() => axe.run(document, {resultTypes: ['violations']})"


def serious_violations(page: Any) -> list[str]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=AXE.format(version=static_version()))
    result = page.evaluate(RUN_AXE)
    return [
        f"{v['impact']} {v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_new_name_format_is_previewed_then_used_by_the_next_rename(served: Served, open_page: Any) -> None:
    page = open_page(served.url, "?q=Vinland")
    path = page.eval_on_selector("#file-list .file", "e => e.dataset.path")
    page.click("#menu-button")
    page.click("[data-open='dlg-settings']")
    page.wait_for_function("document.querySelector('#set-format').value !== ''")

    page.fill("#set-format", "{series} #{issue}")
    page.fill("#set-padding", "2")
    page.wait_for_function("document.querySelector('#set-preview').textContent.includes('#')")
    preview = page.text_content("#set-preview")
    assert preview.startswith(path + " → Vinland Saga #")
    new_name = preview.split(" → ")[1]
    shot(page, "settings")
    page.click("#settings-save")
    page.wait_for_selector("#dlg-settings", state="hidden")
    assert httpx.get(served.url + "/api/settings").json()["filename_format"] == "{series} #{issue}"

    row = page.locator(f"#file-list .file[data-path='{path}']")
    name = path.rsplit("/", 1)[-1]
    wait_loaded_after(page, lambda: row.get_by_role("button", name=f"Rename {name}").click())
    assert (served.root / "Vinland Saga" / new_name).is_file()
    assert not (served.root / path).exists()
    assert f"Vinland Saga/{new_name}" in page.eval_on_selector_all(
        "#file-list .file", "es => es.map(e => e.dataset.path)"
    )


def test_each_kind_of_book_has_a_template_with_a_live_preview(served: Served, open_page: Any) -> None:
    page = open_page(served.url, "?q=Vinland")
    page.click("#menu-button")
    page.click("[data-open='dlg-settings']")
    page.wait_for_function("document.querySelector('#set-kind-previews').textContent.includes('volume:')")
    assert page.input_value("#set-volume-format") == "{series} - Volume {volume}"
    page.fill("#set-volume-format", "{series} Vol {volume}")
    page.fill("#set-volume-padding", "3")
    page.wait_for_function("document.querySelector('#set-kind-previews').textContent.includes('Vol 003')")
    page.fill("#set-range-format", "{series} {issue}")
    page.wait_for_function("document.querySelector('#set-kind-previews').textContent === ''")
    assert "{issue_end}" in page.text_content("#set-preview")
    page.fill("#set-range-format", "{series} {issue} to {issue_end}")
    page.click("#settings-save")
    page.wait_for_selector("#dlg-settings", state="hidden")
    saved = httpx.get(served.url + "/api/settings").json()
    assert (saved["volume_format"], saved["volume_padding"]) == ("{series} Vol {volume}", 3)
    assert saved["range_format"] == "{series} {issue} to {issue_end}"
    assert serious_violations(page) == []


def test_history_lists_the_change_and_undo_restores_the_name(served: Served, open_page: Any) -> None:
    page = open_page(served.url, "?q=One%20Piece")
    rows = page.eval_on_selector_all("#file-list .file", "es => es.map(e => e.dataset.path)")
    old = next(p for p in rows if "broken" not in p)
    with httpx.Client(base_url=served.url, timeout=30) as client:
        result = process_now(client, old, "rename")
    assert result["new_path"] and result["new_path"] != old

    page.click("#menu-button")
    page.click("[data-open='dlg-history']")
    undo = page.locator("#history-body [data-undo]").first
    undo.wait_for()
    assert old in page.inner_text("#history-body")
    # Waited for by its own answer: a toast may be another's (the rename job's end, for one).
    with page.expect_response(lambda r: r.url.endswith("/undo")) as answer:
        undo.click()
    assert answer.value.ok
    assert (served.root / old).is_file()
    assert not (served.root / result["new_path"]).exists()


def test_keyboard_menu_and_dialogs(served: Served, open_page: Any) -> None:
    page = open_page(served.url)
    page.focus("#menu-button")
    page.keyboard.press("Enter")
    assert page.is_visible("#tools-menu")
    assert page.evaluate("document.activeElement.dataset.open") == "dlg-settings"
    page.keyboard.press("Escape")
    assert not page.is_visible("#tools-menu")
    assert page.evaluate("document.activeElement.id") == "menu-button"

    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.open") == "dlg-logs"
    page.keyboard.press("Enter")
    assert page.is_visible("#dlg-logs")
    page.wait_for_function("document.querySelector('#log-lines').textContent !== ''")
    page.keyboard.press("Escape")
    assert not page.is_visible("#dlg-logs")

    # Space on a focused filter button applies it, and the focus ring is visible.
    page.focus(".filter[data-filter='unprocessed']")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    wait_loaded_after(page, lambda: page.keyboard.press("Space"))
    assert "filter=unprocessed" in page.url
    assert outline != "none"


def test_axe_finds_no_serious_violations(served: Served, open_page: Any) -> None:
    page = open_page(served.url)
    assert serious_violations(page) == []

    row = page.locator("#file-list .file").nth(1)
    row.get_by_role("button", name="Edit tags", exact=False).click()
    page.wait_for_selector("#tag-Series")
    assert serious_violations(page) == []
    page.keyboard.press("Escape")

    page.click("#menu-button")
    page.click("#theme-toggle")
    page.click("#menu-button")
    page.click("[data-open='dlg-settings']")
    page.wait_for_function("document.querySelector('#set-preview').textContent !== ''")
    assert serious_violations(page) == []
    page.keyboard.press("Escape")
    assert serious_violations(page) == []


def test_page_and_assets_are_served_offline_with_versioned_urls(served: Served) -> None:
    index = httpx.get(served.url + "/")
    assert index.headers["cache-control"] == "no-cache"
    assert "default-src 'self'" in index.headers["content-security-policy"]
    version = static_version()
    assert f"/static/{version}/app.js" in index.text
    assert "http://" not in index.text and "https://" not in index.text
    asset = httpx.get(f"{served.url}/static/{version}/app.js")
    assert asset.status_code == 200
    assert asset.headers["content-type"].startswith("text/javascript")
    assert "immutable" in asset.headers["cache-control"]
    stale = httpx.get(f"{served.url}/static/0ld0ld0ld0ld/app.js")
    assert stale.headers["cache-control"] == "no-cache"
    assert httpx.get(f"{served.url}/static/{version}/%2e%2e/pages.py").status_code == 404
