"""Cross-site writes, security headers, body limits, slow clients and BASE_PATH, on a real uvicorn."""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import urlsplit

import httpx
import pytest

from tests.security.conftest import AUTH_ENV, TOKEN, AppFactory

BODY = {"name": "x"}


def raw_connection(url: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
    return sock


def read_status(sock: socket.socket) -> int:
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1]) if data else 0


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({"Origin": "http://evil.example"}, False),
        ({"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"}, False),
        ({"Sec-Fetch-Site": "same-site"}, False),
        ({"Origin": "null"}, False),
        ({"Referer": "http://evil.example/page"}, False),
        ({"Sec-Fetch-Site": "same-origin"}, True),
        ({"Sec-Fetch-Site": "none"}, True),
        ({}, True),  # not a browser: curl or a script
    ],
)
def test_cross_site_writes_are_refused(
    secure_app: AppFactory, headers: dict[str, str], allowed: bool
) -> None:
    url = secure_app().url
    response = httpx.post(url + "/api/things", json=BODY, headers=headers)
    if allowed:
        assert response.status_code == 200
    else:
        assert response.status_code == 403 and response.json()["error"]["code"] == "cross_site"


def test_same_origin_by_origin_header(secure_app: AppFactory) -> None:
    url = secure_app().url
    origin = f"http://{urlsplit(url).netloc}"
    assert httpx.post(url + "/api/things", json=BODY, headers={"Origin": origin}).status_code == 200
    assert httpx.put(url + "/api/things", json=BODY, headers={"Origin": "http://other:1"}).status_code == 403


def test_token_requests_skip_the_origin_check_but_cookies_do_not(secure_app: AppFactory) -> None:
    url = secure_app(**AUTH_ENV).url
    evil = {"Origin": "http://evil.example"}
    with_token = httpx.post(
        url + "/api/things", json=BODY, headers={**evil, "Authorization": f"Bearer {TOKEN}"}
    )
    assert with_token.status_code == 200
    form = {"username": "reader", "password": AUTH_ENV["AUTH_PASSWORD"]}
    login = httpx.post(url + "/login", data=form, headers=evil)  # login CSRF is refused too
    assert login.status_code == 403 and "set-cookie" not in login.headers


def test_security_headers_on_every_answer(secure_app: AppFactory) -> None:
    url = secure_app().url
    for path in ("/api/things", "/api/nothing-here", "/", "/login"):
        headers = httpx.get(url + path).headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "no-referrer", path
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
        assert "unsafe-inline" not in csp, path
        assert "server" not in headers, path  # server_options() hides the server banner


def test_ten_megabyte_json_body_is_refused_unread(secure_app: AppFactory) -> None:
    url = secure_app().url
    sock = raw_connection(url)
    head = (
        "POST /api/things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {10 * 1024 * 1024}\r\n\r\n"
    )
    sock.sendall(head.encode() + b'{"name": "' + b"x" * 65536)
    assert read_status(sock) == 413
    sock.close()
    # Through an ordinary client too, and a body just under the limit still works.
    big = json.dumps({"name": "x" * (10 * 1024 * 1024)})
    try:
        response = httpx.post(url + "/api/things", content=big, headers={"Content-Type": "application/json"})
        assert response.status_code == 413
    except (httpx.WriteError, httpx.RemoteProtocolError):
        # The server answered and closed before the client finished sending: refused unread. Closing a
        # socket with unread bytes resets it, and the reset can reach the client before it has read the
        # whole answer; the raw connection above is what proves the 413.
        pass
    ok = httpx.post(url + "/api/things", content=b"x" * (1024 * 1024 - 1))
    assert ok.status_code == 200 and ok.json() == {"received": 1024 * 1024 - 1}


def test_chunked_body_over_the_limit_is_cut_off(secure_app: AppFactory) -> None:
    url = secure_app(MAX_BODY_BYTES="4096").url

    def chunks():
        for _ in range(100):
            yield b"y" * 1024

    response = httpx.post(url + "/api/things", content=chunks())
    assert response.status_code == 413


def still_waiting(sock: socket.socket) -> bool:
    """True if the server has neither answered nor closed ``sock`` yet (a read would block)."""
    timeout = sock.gettimeout()
    sock.setblocking(False)  # a socket with a timeout would wait for data first
    try:
        sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return True
    finally:
        sock.settimeout(timeout)
    return False


def test_slow_body_gets_408_and_does_not_block_others(secure_app: AppFactory) -> None:
    url = secure_app(BODY_TIMEOUT="3").url
    sock = raw_connection(url)
    sock.sendall(b"POST /api/things HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
    assert httpx.get(url + "/api/things", timeout=10).status_code == 200
    # Answered while the slow request is still waiting for its body: it held no one up.
    assert still_waiting(sock)
    assert read_status(sock) == 408  # then its deadline passes (the socket's own timeout is 5 s)
    sock.close()


def test_slow_headers_are_cut_off_and_do_not_block_others(secure_app: AppFactory) -> None:
    url = secure_app(HEADER_TIMEOUT="3").url
    slow = [raw_connection(url) for _ in range(20)]
    for sock in slow:
        sock.sendall(b"GET /api/things HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
    for _ in range(5):
        assert httpx.get(url + "/api/things", timeout=10).status_code == 200
    # All five answered while the twenty slow requests were still waiting for their headers.
    assert all(still_waiting(sock) for sock in slow)
    for sock in slow:
        sock.settimeout(10)
        assert sock.recv(1024) == b""  # then closed by the server, unanswered
        sock.close()


def test_header_timeout_spares_a_streaming_response(secure_app: AppFactory) -> None:
    timeout = 0.3
    url = secure_app(HEADER_TIMEOUT=str(timeout)).url
    opened = time.monotonic()
    with httpx.stream("GET", url + "/api/events/stream", timeout=5) as response:
        assert response.status_code == 200
        # Pings (every 0.2 s) keep arriving well after the header deadline: the stream was not cut.
        for line in response.iter_lines():
            if line.startswith(":") and time.monotonic() - opened > 3 * timeout:
                break
        else:
            raise AssertionError("the stream ended")


@pytest.mark.parametrize("prefix_kept", [True, False])
def test_base_path_with_or_without_the_prefix(secure_app: AppFactory, prefix_kept: bool) -> None:
    url = secure_app(BASE_PATH="/comics/", **AUTH_ENV).url
    base = url + ("/comics" if prefix_kept else "")
    page = httpx.get(base + "/", headers={"Accept": "text/html"})
    assert page.status_code == 303 and page.headers["location"] == "/comics/login?next=/"
    login = httpx.post(
        base + "/login",
        data={"username": "reader", "password": AUTH_ENV["AUTH_PASSWORD"], "next": "/api/things"},
    )
    assert login.status_code == 303 and login.headers["location"] == "/comics/api/things"
    assert "Path=/comics/" in login.headers["set-cookie"]
    form = httpx.get(base + "/login").text
    assert 'action="/comics/login"' in form and 'href="/comics/login.css"' in form
    token = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.get(base + "/api/things", headers=token).json()["things"] == [1, 2]


def test_base_path_without_slash_redirects(secure_app: AppFactory) -> None:
    url = secure_app(BASE_PATH="comics").url
    response = httpx.get(url + "/comics")
    assert response.status_code == 303 and response.headers["location"] == "/comics/"
