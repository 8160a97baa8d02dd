"""The library view in a real browser: search, filters in the URL, folder selection, delete, tags, theme."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx

from comicmaintainer.archive.reader import read_archive
from tests.e2e.conftest import Served, shot, wait_job_final, wait_loaded_after
from tests.web.processing import process_now


def rows(page: Any) -> list[str]:
    return page.eval_on_selector_all("#file-list .file", "els => els.map(e => e.dataset.path)")


def comicinfo(path: Path) -> ET.Element:
    info = read_archive(path)
    assert info.comicinfo is not None, f"{path.name} has no ComicInfo.xml"
    return ET.fromstring(info.comicinfo)


def folder_box(page: Any, folder: str) -> dict[str, bool]:
    return page.evaluate(
        """(folder) => {
            const groups = [...document.querySelectorAll('#file-list .group')];
            const g = groups.find(x => x.dataset.folder === folder);
            const b = g.querySelector('.folder-check');
            return {checked: b.checked, mixed: b.indeterminate};
        }""",
        folder,
    )


def test_search_and_filter_combine_and_survive_a_reload(served: Served, open_page: Any) -> None:
    first = httpx.get(served.url + "/api/files", params={"search": "Berserk", "per_page": 10}).json()
    berserk = first["groups"][0]["files"][0]["path"]
    with httpx.Client(base_url=served.url, timeout=30) as client:
        done = process_now(client, berserk, "full")
    assert done["outcome"] == "processed"
    processed_path = done["new_path"] or berserk

    page = open_page(served.url)
    shot(page, "library")
    everything = rows(page)
    assert len(everything) > 10

    wait_loaded_after(page, lambda: page.fill("#search", "berserk"))
    found = rows(page)
    assert found and all("berserk" in p.lower() for p in found)
    assert len(found) < len(everything)

    wait_loaded_after(page, lambda: page.click(".filter[data-filter='processed']"))
    assert rows(page) == [processed_path]
    assert "q=berserk" in page.url and "filter=processed" in page.url
    assert page.text_content("[data-count='processed']") == "(1)"

    page.reload()
    page.wait_for_selector("html[data-ready='1']")
    assert page.input_value("#search") == "berserk"
    assert page.get_attribute(".filter[data-filter='processed']", "aria-pressed") == "true"
    assert rows(page) == [processed_path]

    wait_loaded_after(page, lambda: page.click(".filter[data-filter='unprocessed']"))
    assert processed_path not in rows(page) and rows(page)
    assert not page.errors


def test_folder_checkbox_selects_the_folder_and_shows_a_mixed_state(served: Served, open_page: Any) -> None:
    # Ten rows a page, sorted by folder: "One Piece" starts on page 1 and ends on page 2.
    page = open_page(served.url, "?per_page=10")
    folders = page.eval_on_selector_all("#file-list .group", "gs => gs.map(g => g.dataset.folder)")
    spanning = folders[-1]
    on_page = [p for p in rows(page) if p.startswith(spanning + "/")]
    in_folder = [p for p in (served.root / spanning).iterdir() if p.suffix.lower() in (".cbz", ".cbr")]
    assert len(on_page) < len(in_folder), "the test needs a folder that spans two pages"

    page.locator("#file-list .group").last.locator(".folder-check").check()
    expected = f"{len(in_folder)} selected"
    page.wait_for_function(f"document.querySelector('#selection-count').textContent === '{expected}'")
    assert folder_box(page, spanning) == {"checked": True, "mixed": False}

    page.locator(f"#file-list .file[data-path='{on_page[0]}'] .pick").uncheck()
    assert page.text_content("#selection-count") == f"{len(in_folder) - 1} selected"
    assert folder_box(page, spanning) == {"checked": False, "mixed": True}
    assert page.get_attribute("#file-list .group >> nth=-1 >> .folder-check", "aria-checked") == "mixed"

    # The rest of the folder, on the next page, is selected too, and stays so after paging.
    wait_loaded_after(page, lambda: page.click("#page-next"))
    rest = [p for p in rows(page) if p.startswith(spanning + "/")]
    assert rest
    for path in rest:
        assert page.locator(f"#file-list .file[data-path='{path}'] .pick").is_checked()
    assert folder_box(page, spanning) == {"checked": False, "mixed": True}

    page.click("#clear-selection")
    assert page.text_content("#selection-count") == "0 selected"
    assert folder_box(page, spanning) == {"checked": False, "mixed": False}


def test_delete_asks_first_naming_the_file(served: Served, open_page: Any) -> None:
    page = open_page(served.url)
    path = rows(page)[0]
    name = path.rsplit("/", 1)[-1]
    row = page.locator(f"#file-list .file[data-path='{path}']")

    row.get_by_role("button", name=f"Delete {name}").click()
    dialog = page.locator("#dlg-confirm")
    assert dialog.is_visible()
    assert name in dialog.inner_text()
    page.keyboard.press("Escape")  # Escape closes the dialog and deletes nothing
    assert not dialog.is_visible()
    assert (served.root / path).exists()

    row.get_by_role("button", name=f"Delete {name}").click()
    wait_loaded_after(page, lambda: page.click("#confirm-ok"))
    assert not (served.root / path).exists()
    assert path not in rows(page)


def test_tag_editor_writes_into_the_archive(served: Served, open_page: Any) -> None:
    page = open_page(served.url)
    path = rows(page)[2]
    name = path.rsplit("/", 1)[-1]
    row = page.locator(f"#file-list .file[data-path='{path}']")
    row.get_by_role("button", name=f"Edit tags {name}").click()
    page.wait_for_selector("#tag-Series")
    assert page.locator("#tags-fields legend").all_inner_texts()[:3] == ["Story", "Date", "Credits"]
    page.get_by_label("Series", exact=True).fill("Edited Series")
    page.get_by_label("Writer", exact=True).fill("A. Writer")
    page.get_by_label("Summary", exact=True).fill("Two lines\nof summary.")
    shot(page, "tag-editor")
    page.click("#tags-save")
    page.wait_for_selector("#dlg-tags", state="hidden")

    xml = comicinfo(served.root / path)
    assert xml.findtext("Series") == "Edited Series"
    assert xml.findtext("Writer") == "A. Writer"
    assert xml.findtext("Summary") == "Two lines\nof summary."


def test_batch_edit_sets_common_fields_and_leaves_empty_ones(served: Served, open_page: Any) -> None:
    page = open_page(served.url)
    chosen = [p for p in rows(page) if "broken" not in p and "cbr" not in p.lower()][3:5]
    for path in chosen:
        page.locator(f"#file-list .file[data-path='{path}'] .pick").check()
    assert page.text_content("#selection-count") == "2 selected"
    before = [comicinfo_or_none(served.root / p) for p in chosen]

    page.click("#batch-edit")
    page.fill("#batch-Publisher", "Batch House")
    page.fill("#batch-Year", "2021")
    page.click("#batch-apply")
    assert wait_job_final(page) == "completed"

    for path, old in zip(chosen, before, strict=True):
        xml = comicinfo(served.root / path)
        assert xml.findtext("Publisher") == "Batch House"
        assert xml.findtext("Year") == "2021"
        assert xml.findtext("Writer") == (old.findtext("Writer") if old is not None else None)


def comicinfo_or_none(path: Path) -> ET.Element | None:
    info = read_archive(path)
    return ET.fromstring(info.comicinfo) if info.comicinfo else None


def test_theme_is_kept_by_the_server_for_another_browser(served: Served, open_page: Any) -> None:
    page = open_page(served.url)
    assert page.get_attribute("html", "data-theme") == "light"
    page.click("#menu-button")
    with page.expect_response(lambda r: r.url.endswith("/api/preferences") and r.request.method == "PUT"):
        page.click("#theme-toggle")
    assert page.get_attribute("html", "data-theme") == "dark"

    other = open_page(served.url)  # a new context: no shared storage or cookies
    assert other.context is not page.context
    assert other.get_attribute("html", "data-theme") == "dark"
    shot(other, "dark-theme")
