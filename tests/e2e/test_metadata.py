"""Choosing a series' match on the page, then reading the fields back from the archive."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

import httpx

from comicmaintainer.archive.reader import read_archive
from comicmaintainer.library.edit import fields_of
from tests.archive_factory import make_cbz
from tests.metadata.conftest import SOURCES, catalogue
from tests.metadata.fakes import Fake, serving


def served_with_sources(stack: ExitStack, serve: Any) -> Any:
    """The service with one chapter of an example series, its sources the fakes (AniList first)."""
    fakes = {name: stack.enter_context(serving(Fake(name, catalogue()))) for name in SOURCES}
    urls = {f"{name}_url": fake.url for name, fake in fakes.items()}
    return serve(series=1, per_series=1, metadata_manga_order="anilist", **urls)


def open_panel(page: Any, folder: str) -> None:
    page.click("#menu-button")
    page.click("[data-open='dlg-metadata']")
    page.wait_for_selector(f"#meta-folder option[value='{folder}']", state="attached")
    page.select_option("#meta-folder", folder)


def wait_for_the_match_job(served: Any, page: Any) -> None:
    with httpx.Client(base_url=served.url, timeout=10) as api:
        job = api.get("/api/jobs").json()["jobs"][0]
        assert job["kind"] == "match"
        page.wait_for_function(
            f"fetch('api/jobs/{job['id']}').then(r => r.json()).then(j => j.finished_at !== null)",
            timeout=30_000,
        )


def test_choose_a_candidate_on_the_page_and_the_chapters_get_its_fields(serve: Any, open_page: Any) -> None:
    with ExitStack() as stack:
        served = served_with_sources(stack, serve)
        for n in (1, 2):
            make_cbz(served.root / "Monster" / f"Monster - Chapter {n:04d}.cbz", seed=n)
        served.service.scan()
        page = open_page(served.url)
        open_panel(page, "Monster")
        page.click("#meta-search")
        page.wait_for_selector(".meta-candidate img.meta-cover")
        assert page.locator(".meta-candidate").count() == 2
        page.wait_for_function(  # the covers came through the server (the page's CSP allows no other)
            "[...document.querySelectorAll('.meta-candidate img')]"
            ".every(i => i.complete && i.naturalWidth > 0)"
        )
        choice = page.locator(".meta-candidate", has_text="(1994)")
        choice.locator(".meta-choose").click()
        page.wait_for_function("document.querySelector('#meta-status').textContent === 'Pinned'")
        assert "Monster (1994)" in page.text_content("#meta-current")
        wait_for_the_match_job(served, page)
        for n in (1, 2):
            tags = fields_of(
                read_archive(served.root / "Monster" / f"Monster - Chapter {n:04d}.cbz").comicinfo
            )
            assert (tags["Writer"], tags["Year"], tags["Series"]) == ("Naoki Urasawa", "1994", "Monster")
        assert page.errors == []


def test_preview_what_a_match_writes_then_match_the_series(serve: Any, open_page: Any) -> None:
    with ExitStack() as stack:
        served = served_with_sources(stack, serve)
        chapter = served.root / "Berserk" / "Berserk - Chapter 0001.cbz"
        make_cbz(chapter, seed=1)
        served.service.scan()
        before = chapter.read_bytes()
        page = open_page(served.url)
        open_panel(page, "Berserk")
        page.click("#meta-preview")
        row = page.locator(".meta-write", has_text="Berserk - Chapter 0001.cbz")
        row.locator("dt", has_text="Writer").wait_for()
        assert "(empty) → Kentaro Miura" in row.text_content()
        assert page.text_content("#meta-status") == "Matched"  # looked up for the preview, and kept
        assert chapter.read_bytes() == before  # a preview writes nothing

        page.click("#meta-match")
        wait_for_the_match_job(served, page)
        assert fields_of(read_archive(chapter).comicinfo)["Writer"] == "Kentaro Miura"
        assert page.errors == []
