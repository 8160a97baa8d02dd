"""The page behind the security layer, in a real Chromium under the real Content-Security-Policy.

Each test runs the whole service with `install_security` (as `serve()` does) under uvicorn on loopback:
- under `BASE_PATH=/comics` with sign-in on: login redirect, the list, a live job, covers, every
  request under the prefix, sign-out, and a lost session (API call or event stream) back to login;
- listening on every interface with no sign-in: the "open to the network" banner, dismissed for the
  rest of the browser session.
CSP is not bypassed here, so waits are done from Python (locators and plain evaluation), never with
predicates the browser would have to compile.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from comicmaintainer import example_library
from comicmaintainer.web.security import install_security
from tests.e2e.conftest import VIEWPORT, _Uvicorn, make_settings

USER, PASSWORD = "reader", "correct horse battery"
SIGNED_IN = {"AUTH_USERNAME": USER, "AUTH_PASSWORD": PASSWORD, "BASE_PATH": "/comics/"}


@dataclass
class Watched:
    """What a tab did: script errors, console errors, failed and refused requests, every URL asked for."""

    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    covers: list[int] = field(default_factory=list)


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """A factory: `secured(host, environ) -> base URL` of the service with its security layer installed."""
    from comicmaintainer.web.service import build_service

    running: list[tuple[_Uvicorn, Any]] = []

    def start(host: str, environ: dict[str, str]) -> str:
        root = tmp_path / "library"
        example_library.build(root, series=2, per_series=4, page_bytes=0)
        for broken in root.rglob("*broken*"):  # its cover would rightly fail; here every request must not
            broken.unlink()
        settings = make_settings(root, tmp_path / "config")
        service = build_service(settings, workers=1)
        install_security(service.app, settings, host=host, environ=environ)
        service.start()
        server = _Uvicorn(service.app)
        running.append((server, service))
        return server.start()

    yield start
    for server, service in reversed(running):
        server.stop()
        service.stop()


@pytest.fixture
def tab(browser: Any) -> Iterator[Callable[[], tuple[Any, Watched]]]:
    """A factory for tabs in fresh browser contexts (no bypass_csp), each with what it did recorded."""
    contexts: list[Any] = []

    def open_() -> tuple[Any, Watched]:
        ctx = browser.new_context(viewport=VIEWPORT)
        contexts.append(ctx)
        page = ctx.new_page()
        seen = Watched()
        page.on("pageerror", lambda exc: seen.errors.append(str(exc)))
        page.on("console", lambda msg: _note_console(seen, msg))
        page.on("requestfailed", lambda req: _note_failure(seen, req))
        page.on("response", lambda res: _note_response(seen, res))
        return page, seen

    yield open_
    for ctx in contexts:  # closed before the servers stop, so no event stream is left open
        ctx.close()


def _note_console(seen: Watched, message: Any) -> None:
    if message.type == "error":
        seen.errors.append(f"{message.text} ({message.location.get('url')})")


def _note_failure(seen: Watched, request: Any) -> None:
    # A navigation away from the page (sign-out, reload) cuts its event stream and any cover still on
    # its way: the browser reports those as aborted, which is no failure of the page.
    if request.failure != "net::ERR_ABORTED":
        seen.failed.append(f"{request.url}: {request.failure}")


def _note_response(seen: Watched, response: Any) -> None:
    path = urlsplit(response.url).path
    seen.paths.append(path)
    if path.endswith("/api/files/cover"):
        seen.covers.append(response.status)
    if response.status >= 400:
        seen.failed.append(f"{response.url}: {response.status}")


def sign_in(page: Any) -> None:
    page.fill("input[name=username]", USER)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def wait_ready(page: Any) -> None:
    page.wait_for_selector("html[data-ready='1']", timeout=10_000)


def wait_true(page: Any, expression: str, timeout: float = 10.0) -> None:
    """Poll `expression` (evaluated in the page) from Python until it is truthy."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        time.sleep(0.05)


def test_signed_in_under_base_path(secured: Callable[..., str], tab: Callable[..., Any]) -> None:
    from playwright.sync_api import expect

    base = secured("127.0.0.1", SIGNED_IN) + "/comics"
    page, seen = tab()
    page.goto(base)  # no trailing slash: redirected to /comics/, then to the login page
    expect(page).to_have_url(re.compile(r"/comics/login\?next=/$"))
    sign_in(page)
    expect(page).to_have_url(base + "/")
    wait_ready(page)

    expect(page.locator("#file-list li.file").first).to_be_visible()
    expect(page.locator("#live")).to_have_attribute("data-state", "live")
    # Covers load as their rows come into view, through the prefix, under the CSP.
    wait_true(page, "[...document.querySelectorAll('img.cover')].some(i => i.complete && i.naturalWidth > 0)")
    assert seen.covers and all(status == 200 for status in seen.covers)

    # Job progress reaches the page only through the event stream under the prefix. The covers asked
    # for so far are in first: one still in flight when the job renames its file would rightly be a 404.
    wait_true(page, "[...document.querySelectorAll('img.cover')].every(i => i.complete)")
    page.click("#process-all")
    expect(page.locator("#job-status")).to_have_text("completed", timeout=30_000)
    done, total = (int(n) for n in str(page.text_content("#job-count")).split("/"))
    assert done == total > 0

    page.click("#menu-button")
    expect(page.locator("#account-user")).to_have_text(f"Signed in as {USER}")
    page.click("#sign-out")
    expect(page).to_have_url(base + "/login")
    page.goto(base + "/")
    expect(page).to_have_url(re.compile(r"/comics/login\?next="))

    assert seen.errors == [] and seen.failed == []
    assert seen.paths[0] == "/comics"  # asked for on purpose, answered with a redirect to /comics/
    outside = [p for p in seen.paths[1:] if not p.startswith("/comics/")]
    assert outside == [], f"requests outside the base path: {outside}"


def test_sign_out_waits_for_the_covers_on_their_way(
    secured: Callable[..., str], tab: Callable[..., Any]
) -> None:
    """A cover asked for just before Sign out is answered before the session ends, never refused."""
    from playwright.sync_api import expect

    base = secured("127.0.0.1", SIGNED_IN) + "/comics"
    page, seen = tab()
    held: list[Any] = []
    covers = re.compile(r"/api/files/cover")
    page.route(covers, lambda route: held.append(route))  # asked for, not yet sent on
    asked: list[str] = []
    page.on("request", lambda req: asked.append(f"{req.method} {urlsplit(req.url).path}"))
    page.goto(base + "/")
    sign_in(page)
    wait_ready(page)
    wait_true(page, "document.querySelectorAll('img.cover:not([data-src])').length > 0")
    assert held, "a cover is on its way"

    page.click("#menu-button")
    page.click("#sign-out")
    page.wait_for_timeout(300)
    assert "POST /comics/logout" not in asked  # sign-out waits for the covers in flight
    for route in held:
        route.continue_()
    page.unroute(covers)

    expect(page).to_have_url(base + "/login")
    assert "POST /comics/logout" in asked
    assert seen.covers and all(status == 200 for status in seen.covers)
    assert seen.errors == [] and seen.failed == []


def test_lost_session_goes_to_login(secured: Callable[..., str], tab: Callable[..., Any]) -> None:
    from playwright.sync_api import expect

    base = secured("127.0.0.1", SIGNED_IN) + "/comics"
    page, _ = tab()
    page.goto(base + "/?filter=unprocessed")
    sign_in(page)
    wait_ready(page)
    expect(page).to_have_url(re.compile(r"/comics/\?filter=unprocessed"))

    # An API call answered 401: back to the login page, which will return to this very view.
    page.context.clear_cookies()
    page.click("button.filter[data-filter='processed']")
    expect(page).to_have_url(re.compile(r"/comics/login\?next=/%3Ffilter%3Dprocessed"))
    sign_in(page)
    wait_ready(page)
    expect(page).to_have_url(re.compile(r"/comics/\?filter=processed"))
    expect(page.locator("#live")).to_have_attribute("data-state", "live")

    # The event stream refused on reconnect: EventSource hides the 401, the page still finds out.
    page.context.clear_cookies()
    page.evaluate("() => window.__cm.stream.drop(50)")
    expect(page).to_have_url(re.compile(r"/comics/login\?next="))


def test_exposed_banner_dismissed_for_the_session(
    secured: Callable[..., str], tab: Callable[..., Any]
) -> None:
    from playwright.sync_api import expect

    url = secured("0.0.0.0", {})  # noqa: S104  # the flag only; the server itself listens on loopback
    page, seen = tab()
    page.goto(url + "/")
    wait_ready(page)
    banner = page.locator("#exposed-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("AUTH_USERNAME")
    expect(page.locator("#account")).to_be_hidden()  # no sign-in, so no Sign out either

    page.click("#exposed-dismiss")
    expect(banner).to_be_hidden()
    page.reload()
    wait_ready(page)
    page.evaluate("() => window.__cm.account")  # the security status has been read and shown
    expect(banner).to_be_hidden()

    fresh, _ = tab()  # a new browser session is warned again
    fresh.goto(url + "/")
    expect(fresh.locator("#exposed-banner")).to_be_visible()
    assert seen.errors == [] and seen.failed == []


def test_no_banner_on_loopback(secured: Callable[..., str], tab: Callable[..., Any]) -> None:
    page, seen = tab()
    page.goto(secured("127.0.0.1", {}) + "/")
    wait_ready(page)
    page.evaluate("() => window.__cm.account")
    assert page.locator("#exposed-banner").is_hidden()
    assert seen.errors == []
