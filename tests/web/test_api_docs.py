"""/docs works offline and under the app's Content-Security-Policy, in a real Chromium."""

from __future__ import annotations

from pathlib import Path

from comicmaintainer.web.security import install_security
from comicmaintainer.web.service import build_service
from tests.conftest import make_settings
from tests.fixture_files import CHROMIUM, need_chromium


def test_docs_page_lists_the_api_with_no_csp_violation(tmp_path: Path, watched: Path, live_server) -> None:  # type: ignore[no-untyped-def]
    need_chromium()
    from playwright.sync_api import sync_playwright

    service = build_service(make_settings(watched, tmp_path), workers=1)
    install_security(service.app, service.settings, host="127.0.0.1")
    url = live_server(service.app)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page()
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
            page.on(
                "response", lambda r: problems.append(f"{r.status}: {r.url}") if r.status >= 400 else None
            )
            page.goto(f"{url}/docs")
            page.wait_for_selector(".opblock", timeout=20_000)
            operations = page.locator(".opblock").count()
            paths = page.locator(".opblock-summary-path").all_inner_texts()
            browser.close()
    finally:
        service.stop()
    assert operations >= 20
    assert "/api/files" in {p.replace("\u200b", "") for p in paths}
    assert problems == []
