"""Browser tests: the real service on loopback, a real library in tmp_path, Debian's Chromium.

    def test_x(served, open_page):
        page = open_page(served.url)

`served` builds a library with `example_library`, starts `build_service(settings)` under uvicorn
(one job worker, so a job's progress can be watched) and stops it at teardown. `browser` is one
Chromium for the whole session, launched from /usr/bin/chromium; without it every test here fails,
naming the Debian package to install. Set UPDATE_SCREENSHOTS=1 to (re)write docs/screenshots/*.png.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from comicmaintainer import example_library
from comicmaintainer.config import Settings
from tests.fixture_files import CHROMIUM, need_chromium

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORT = {"width": 1400, "height": 900}
FINAL = ("completed", "failed", "cancelled")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.e2e)


# Package scope, not session: Playwright's sync API runs an event loop in the main thread while it is
# open, which would make every later test's asyncio.run() fail.
@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Served:
    url: str
    root: Path
    settings: Settings
    service: Any


class _Uvicorn:
    """uvicorn in a thread on a port bound before it starts (no race for a free port)."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_config=None, log_level="warning", timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


def _with_page(app: Any) -> Any:
    """The app with the page's routes; a no-op once the service includes them itself."""
    from comicmaintainer.web import pages

    if not any(getattr(route, "path", None) == "/" for route in app.routes):
        app.include_router(pages.router)
    return app


def make_settings(root: Path, config: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"max_workers": 1, "watcher_enabled": False, **overrides}
    return Settings(watched_dir=root, duplicate_dir=None, config_dir=config, **values)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """A factory: `serve(series=4, per_series=5, page_bytes=0, **settings) -> Served`."""
    from comicmaintainer.web.service import build_service

    running: list[tuple[_Uvicorn, Any]] = []

    def start(*, series: int = 4, per_series: int = 5, page_bytes: int = 0, **overrides: Any) -> Served:
        root = tmp_path / "library"
        example_library.build(root, series=series, per_series=per_series, page_bytes=page_bytes)
        settings = make_settings(root, tmp_path / "config", **overrides)
        service = build_service(settings, workers=1)
        service.start()
        server = _Uvicorn(_with_page(service.app))
        running.append((server, service))
        return Served(server.start(), root, settings, service)

    yield start
    for server, service in reversed(running):
        server.stop()
        service.stop()


@pytest.fixture
def served(serve: Callable[..., Served]) -> Served:
    """A small library (4 folders, about 24 archives) behind a running service."""
    return serve()


@pytest.fixture
def open_page(browser: Any, serve: Callable[..., Served]) -> Iterator[Callable[..., Any]]:
    """A factory: `open_page(url, query="")` -> a new tab in a new browser context, its first screen drawn.

    Page errors are kept in `page.errors`. Every context is closed before the server stops, so no
    event stream is left open at shutdown. CSP is bypassed only so that Playwright may evaluate its
    own wait predicates; the page's scripts are all same-origin files either way.
    """
    contexts: list[Any] = []

    def open_(url: str, query: str = "") -> Any:
        ctx = browser.new_context(viewport=VIEWPORT, bypass_csp=True)
        contexts.append(ctx)
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.errors = errors
        page.goto(url + "/" + query)
        page.wait_for_selector("html[data-ready='1']", timeout=10_000)
        return page

    yield open_
    for ctx in contexts:
        ctx.close()


def wait_loaded_after(page: Any, action: Callable[[], None]) -> None:
    """Run `action` and wait until the file list has been drawn again."""
    before = int(page.get_attribute("html", "data-loaded") or 0)
    action()
    page.wait_for_function(f"Number(document.documentElement.dataset.loaded || 0) > {before}", timeout=10_000)


def job_text(page: Any) -> dict[str, str]:
    return page.evaluate(
        """() => ({status: document.querySelector('#job-status').textContent,
                   count: document.querySelector('#job-count').textContent,
                   failed: document.querySelector('#job-failed').textContent})"""
    )


def wait_job_final(page: Any, timeout: float = 60_000) -> str:
    page.wait_for_function(
        f"{list(FINAL)!r}.includes(document.querySelector('#job-status').textContent)", timeout=timeout
    )
    return str(page.text_content("#job-status"))


def shot(page: Any, name: str) -> None:
    """Save a screenshot for the README when UPDATE_SCREENSHOTS=1."""
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
