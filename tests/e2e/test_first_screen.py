"""The first screen in a real Chromium, as a new user sees it: no error in the console, no cover asked
of a file whose archive cannot be read, and status icons that need no emoji font.

The page's own Content-Security-Policy is in force (no bypass), so waits are done from Python.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from comicmaintainer import example_library
from comicmaintainer.web.pages import STATIC_DIR
from comicmaintainer.web.security import install_security
from tests.archive_factory import make_cbz
from tests.e2e.conftest import FINAL, Served, _Uvicorn, make_settings
from tests.e2e.test_security_page import Watched, tab, wait_ready, wait_true  # noqa: F401 - fixture

BROKEN = "Berserk/Berserk ch 100 (broken download).cbz"
LABELS = {
    "processed": "Processed",
    "unprocessed": "Unprocessed",
    "duplicate": "Duplicate",
    "needs_attention": "Needs attention",
}
# Every character Unicode counts as an emoji, by the browser's own Unicode data (ICU), plus the two
# joiners that turn plain characters into emoji.
EMOJI = r"[\p{Extended_Pictographic}\p{Emoji_Presentation}\u{FE0F}\u{20E3}]"
COVERS_SETTLED = (
    "[...document.querySelectorAll('#file-list img.cover')].every(i => !i.dataset.src && i.complete)"
)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[], Served]]:
    """Like conftest's `serve`, with the security layer installed as `comicmaintainer serve` does."""
    from comicmaintainer.web.service import build_service

    running: list[tuple[_Uvicorn, Any]] = []

    def start() -> Served:
        root = tmp_path / "library"
        example_library.build(root, series=4, per_series=5, page_bytes=0)
        settings = make_settings(root, tmp_path / "config")
        service = build_service(settings, workers=1)
        install_security(service.app, settings, host="127.0.0.1", environ={})
        service.start()
        server = _Uvicorn(service.app)
        running.append((server, service))
        return Served(server.start(), root, settings, service)

    yield start
    for server, service in reversed(running):
        server.stop()
        service.stop()


def process_all(served: Served) -> None:
    job = httpx.post(served.url + "/api/jobs", json={"kind": "process", "scope": "all"}).json()
    deadline = time.monotonic() + 60
    while httpx.get(f"{served.url}/api/jobs/{job['id']}").json()["status"] not in FINAL:
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.05)


def listed(served: Served, status_filter: str) -> list[str]:
    body = httpx.get(served.url + "/api/files", params={"filter": status_filter, "per_page": 500}).json()
    return [f["path"] for g in body["groups"] for f in g["files"]]


def cover_paths(requests: list[str]) -> list[str]:
    return [parse_qs(urlsplit(url).query)["path"][0] for url in requests if "/api/files/cover" in url]


def open_first_screen(tab: Callable[[], tuple[Any, Watched]], url: str) -> tuple[Any, Watched, list[str]]:  # noqa: F811
    """The page with every row brought into view once, so every cover it asks for has been asked."""
    page, seen = tab()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(url + "/?per_page=100")
    wait_ready(page)
    scroll_every_row(page)
    return page, seen, requests


def scroll_every_row(page: Any) -> None:
    rows = page.locator("#file-list .file")
    for i in range(rows.count()):
        rows.nth(i).scroll_into_view_if_needed()
    wait_true(page, COVERS_SETTLED)


def test_first_screen_asks_no_cover_of_a_file_that_needs_attention(
    serve: Callable[[], Served],
    tab: Callable[[], tuple[Any, Watched]],  # noqa: F811
) -> None:
    served = serve()
    process_all(served)
    assert BROKEN in listed(served, "needs_attention")

    page, seen, requests = open_first_screen(tab, served.url)
    shown = page.eval_on_selector_all("#file-list .file", "es => es.map(e => e.dataset.path)")
    assert BROKEN in shown and len(shown) == len(listed(served, "all"))
    broken_row = page.locator(f"#file-list .file[data-path='{BROKEN}']")
    assert broken_row.locator("img").count() == 0 and broken_row.locator(".no-cover").count() == 1
    asked = cover_paths(requests)
    assert BROKEN not in asked
    assert sorted(asked) == sorted(p for p in shown if p != BROKEN)  # every other row has its cover
    assert seen.covers and all(status == 200 for status in seen.covers)
    assert seen.errors == [] and seen.failed == []

    # The tag editor does not ask for it either.
    broken_row.get_by_role("button", name="Edit tags Berserk ch 100 (broken download).cbz").click()
    page.locator("#dlg-tags").wait_for(state="visible")
    assert page.get_attribute("#tags-cover", "src") is None and page.is_hidden("#tags-cover")
    assert BROKEN not in cover_paths(requests)


def test_a_cover_that_failed_is_not_asked_again_when_the_list_is_drawn_again(
    serve: Callable[[], Served],
    tab: Callable[[], tuple[Any, Watched]],  # noqa: F811
) -> None:
    # Before anything is processed nobody knows the download is broken: its cover is asked once.
    served = serve()
    page, seen, requests = open_first_screen(tab, served.url)
    shown = page.eval_on_selector_all("#file-list .file", "es => es.map(e => e.dataset.path)")
    assert cover_paths(requests).count(BROKEN) == 1
    before = int(page.get_attribute("html", "data-loaded") or 0)
    page.select_option("#sort", "size")
    wait_true(page, f"Number(document.documentElement.dataset.loaded || 0) > {before}")
    scroll_every_row(page)
    assert page.locator(f"#file-list .file[data-path='{BROKEN}'] .no-cover").count() == 1
    assert cover_paths(requests).count(BROKEN) == 1
    sizes = page.eval_on_selector_all("#file-list .file", "es => es.map(e => e.dataset.path)")
    assert sizes != shown  # drawn again, in another order
    # That one request is the only failure, and the console's only error.
    assert len(seen.failed) == 1 and "broken%20download" in seen.failed[0] and seen.failed[0].endswith("422")
    assert len(seen.errors) == 1 and "422" in seen.errors[0], seen.errors


def test_status_icons_are_drawn_shapes_with_text_labels_and_no_emoji(
    serve: Callable[[], Served],
    tab: Callable[[], tuple[Any, Watched]],  # noqa: F811
) -> None:
    served = serve()
    process_all(served)
    make_cbz(served.root / "Frieren" / "Frieren ch 99.cbz", seed=99)
    assert httpx.post(served.url + "/api/scan").json()["added"] == 1  # one unprocessed file again
    page, seen, _ = open_first_screen(tab, served.url)

    for status, label in LABELS.items():
        cell = page.locator(f"#file-list .file[data-status='{status}'] .status").first
        assert cell.locator(f"svg.icon-{status}").count() == 1, status
        assert cell.locator(".sr-only").text_content() == label
        assert cell.get_attribute("title") == label
        box = cell.locator("svg").bounding_box()
        assert box and box["width"] >= 12 and box["height"] >= 12, status  # drawn, not an empty glyph
    for name in ("processed", "unprocessed", "duplicates", "needs_attention"):
        assert page.locator(f".filter[data-filter='{name}'] svg.icon").count() == 1, name

    static = sorted(
        p.relative_to(STATIC_DIR).as_posix()
        for p in STATIC_DIR.rglob("*")
        if p.is_file() and "vendor" not in p.parts and p.suffix in (".js", ".html", ".css", ".svg")
    )
    assert "library.js" in static and "index.html" in static
    found = page.evaluate(
        """async ([pattern, files]) => {
            const emoji = new RegExp(pattern, "u");
            const hits = [];
            if (emoji.test(document.body.innerText)) hits.push("the page's text");
            for (const el of document.querySelectorAll("*")) {
                for (const pseudo of ["::before", "::after"]) {
                    if (emoji.test(getComputedStyle(el, pseudo).content)) hits.push(`${el.tagName}${pseudo}`);
                }
            }
            const base = new URL(document.querySelector("link[rel=stylesheet]").href);
            for (const file of files) {
                const text = await (await fetch(new URL(file, base))).text();
                const match = text.match(emoji);
                if (match) hits.push(`${file}: U+${match[0].codePointAt(0).toString(16).toUpperCase()}`);
            }
            return hits;
        }""",
        [EMOJI, static],
    )
    assert found == []
    # The check itself sees emoji: the old status characters are caught, the page's arrows are not.
    matches = "([p, chars]) => chars.map(c => new RegExp(p, 'u').test(c))"
    assert page.evaluate(matches, [EMOJI, ["\u2705", "\u26a0", "\U0001f501", "\u2757"]]) == [True] * 4
    assert page.evaluate(matches, [EMOJI, ["\u2192", "\u25be", "\u2026", "\u2013"]]) == [False] * 4
    assert seen.errors == [] and seen.failed == []
