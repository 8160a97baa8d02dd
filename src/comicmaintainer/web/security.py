"""The security layer around the web app: one call, `install_security(app, settings)`.

It adds, outermost first:
1. `BasePathMiddleware`: serve under `BASE_PATH` whether or not the reverse proxy strips the prefix.
2. uvicorn's `ProxyHeadersMiddleware`: `X-Forwarded-For`/`-Proto` believed only from `TRUSTED_PROXIES`.
3. `SecurityMiddleware`: security headers on every answer; a same-origin check on every state-changing
   request (a browser on another site cannot change anything, login or not); the login or token check
   when login is configured; request bodies capped (`MAX_BODY_BYTES`) and read with a per-chunk
   deadline (`BODY_TIMEOUT`), so a 10 MB upload is refused from its headers and a slow sender gets 408.
and the login routes of `web/login.py`.

A slow client cannot hold the server either while it sends its headers: `server_options()` gives the
uvicorn options for `serve()`, including a protocol class that closes connections whose request head
has not arrived within `HEADER_TIMEOUT`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.http.h11_impl import H11Protocol

from comicmaintainer.config import Settings
from comicmaintainer.web import login
from comicmaintainer.web.auth import (
    FailureLimiter,
    SecurityConfig,
    SessionStore,
    load_security_config,
    token_valid,
)

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Reachable without signing in: the login page itself, the container health probe, the banner flag.
PUBLIC_PATHS = frozenset({login.LOGIN_PATH, login.STYLE_PATH, "/api/health", "/api/security"})
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


def install_security(
    app: FastAPI, settings: Settings, *, host: str | None = None, environ: Mapping[str, str] = os.environ
) -> SecurityConfig:
    """Add the security middleware and login routes to `app`; call before the server starts.

    `host` is the listening address (for the "open to the network without login" warning and flag).
    Raises `ConfigError` (one plain line) for a bad security setting.
    """
    config = load_security_config(settings, environ, host=host)
    state = login.SecurityState(config, SessionStore(config.session_max_age), FailureLimiter())
    app.state.security = state
    app.include_router(login.login_router(state))
    app.add_middleware(SecurityMiddleware, state=state)
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(config.trusted_proxies))
    if config.base_path:
        app.add_middleware(BasePathMiddleware, base_path=config.base_path)
    if config.exposed:
        log.warning(
            "listening on %s with no login: anyone on the network can change the library; "
            "set AUTH_USERNAME and AUTH_PASSWORD",
            config.host,
        )
    return config


def server_options(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.Config`/`uvicorn.run` that `serve()` must pass."""
    header_timeout = _env_float(environ, "HEADER_TIMEOUT", 10.0)
    return {
        "http": guarded_protocol(header_timeout),
        # Forwarded headers are handled by install_security from TRUSTED_PROXIES only.
        "proxy_headers": False,
        "server_header": False,
        "timeout_keep_alive": 5,
        "h11_max_incomplete_event_size": 16 * 1024,
        # Each open page holds one event stream; 500 live clients must fit (issue 5), with room for
        # their API calls. Beyond this uvicorn answers 503 instead of slowing everyone down.
        "limit_concurrency": 1000,
    }


def _env_float(environ: Mapping[str, str], name: str, default: float) -> float:
    try:
        return float(environ.get(name, "") or default)
    except ValueError:
        return default


def route_path(scope: Scope) -> str:
    """The request's path below the app's mount point (``root_path``), as the routes see it.

    Starlette computes this in ``starlette._utils``, which is private; the rule is short enough
    to keep here: a path under ``root_path`` loses that prefix, any other path is taken as it is.
    """
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        return path[len(root) :]
    return path


def guarded_protocol(header_timeout: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing a connection whose request head is not complete in time.

    A private door, kept because no public one exists: uvicorn offers ``timeout_keep_alive`` (idle
    between requests) but no bound on how long a request's head may take to arrive (a slow-headers
    client). So this subclasses ``H11Protocol`` and reads its ``conn``, ``cycle``, ``transport``
    and ``loop``; ``tests/test_private_doors.py`` fails when a uvicorn release changes them.
    """

    class HeaderTimeoutProtocol(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_head_timer()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm_head_timer()  # the next request on a kept-alive connection gets the same bound

        def connection_lost(self, exc: Exception | None) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
            super().connection_lost(exc)

        def _arm_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
            self._head_timer = self.loop.call_later(header_timeout, self._head_overdue)

        def _head_overdue(self) -> None:
            # IDLE on the client side means the request line and headers have not all arrived yet.
            waiting = self.cycle is None or self.cycle.response_complete
            if waiting and self.conn.their_state is _h11_idle() and not self.transport.is_closing():
                self.transport.close()

    return HeaderTimeoutProtocol


def _h11_idle() -> Any:
    import h11

    return h11.IDLE


class BasePathMiddleware:
    """Serve the app under `base_path`, with or without the prefix in the incoming path."""

    def __init__(self, app: ASGIApp, base_path: str) -> None:
        self.app = app
        self.base = base_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == self.base:
            await _send_redirect(send, self.base + "/")
            return
        scope = dict(scope)
        if not path.startswith(self.base + "/"):  # the proxy stripped the prefix
            scope["path"] = self.base + path
            scope["raw_path"] = self.base.encode() + scope.get("raw_path", path.encode())
        scope["root_path"] = self.base
        await self.app(scope, receive, send)


class BodyRefused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class SecurityMiddleware:
    """Headers, same-origin check, authentication and body limits; pure ASGI so SSE streams untouched."""

    def __init__(self, app: ASGIApp, state: login.SecurityState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_headers(send)
        headers = Headers(scope=scope)
        token_ok = self._bearer_ok(headers)
        refusal = self._refusal(scope, headers, token_ok)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        if (
            scope["method"] not in SAFE_METHODS
            or "content-length" in headers
            or "transfer-encoding" in headers
        ):
            try:
                body = await self._read_body(headers, receive)
            except BodyRefused as exc:
                await _send_json(send, exc.status, exc.code, exc.message, close=True)
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, send)

    def _bearer_ok(self, headers: Headers) -> bool | None:
        """True/False for a valid/invalid bearer token, None when there is none."""
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        return token_valid(self.state.config, token.strip())

    def _refusal(self, scope: Scope, headers: Headers, token_ok: bool | None) -> ASGIApp | None:
        """The answer that refuses this request, or None to let it through."""
        # A bearer token is never sent by a browser on its own, so token requests need no origin check.
        if (
            scope["method"] not in SAFE_METHODS
            and not token_ok
            and not _same_origin(scope, headers, self.state)
        ):
            return _json_app(403, "cross_site", "Cross-site requests may not change anything.")
        config = self.state.config
        if not config.auth_enabled or route_path(scope) in PUBLIC_PATHS:
            return None
        if token_ok:
            _set_user(scope, config.username, "token")
            return None
        if token_ok is False:
            return self._bad_token(scope)
        user = self.state.sessions.user(login.session_cookie(headers))
        if user is not None:
            _set_user(scope, user, "session")
            return None
        return _unauthenticated(scope, headers)

    def _bad_token(self, scope: Scope) -> ASGIApp:
        address = (scope.get("client") or ("", 0))[0]
        wait = self.state.limiter.retry_after(address)
        if wait > 0:
            return _json_app(
                429, "too_many_requests", f"Too many failed attempts; try again in {wait:.0f} s."
            )
        self.state.limiter.failed(address)
        return _json_app(401, "unauthorized", "The API token is not valid.")

    async def _read_body(self, headers: Headers, receive: Receive) -> bytes:
        limit = self.state.config.max_body_bytes
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            raise BodyRefused(413, "payload_too_large", f"Request bodies are limited to {limit} bytes.")
        chunks: list[bytes] = []
        size = 0
        while True:
            try:
                message = await asyncio.wait_for(receive(), self.state.config.body_timeout)
            except TimeoutError:
                raise BodyRefused(408, "request_timeout", "The request body arrived too slowly.") from None
            if message["type"] == "http.disconnect":
                raise BodyRefused(400, "bad_request", "The client went away.")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BodyRefused(413, "payload_too_large", f"Request bodies are limited to {limit} bytes.")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _set_user(scope: Scope, user: str | None, how: str) -> None:
    state = scope.setdefault("state", {})
    state["user"] = user
    state["auth"] = how


def _same_origin(scope: Scope, headers: Headers, state: login.SecurityState) -> bool:
    """Browsers say where a request comes from; requests without those headers are not from a browser."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = headers.get("origin")
    if origin is None:
        return headers.get("referer") is None or _netloc(headers.get("referer", "")) == _host(scope, headers)
    return origin != "null" and _netloc(origin) == _host(scope, headers)


def _netloc(url: str) -> str:
    try:
        return urlsplit(url).netloc.lower()
    except ValueError:
        return ""


def _host(scope: Scope, headers: Headers) -> str:
    # Behind a reverse proxy this needs the public Host passed on (nginx: `proxy_set_header Host $host`);
    # browsers that send Sec-Fetch-Site never reach this fallback.
    return headers.get("host", "").lower()


def _unauthenticated(scope: Scope, headers: Headers) -> ASGIApp:
    wants_page = scope["method"] == "GET" and "text/html" in headers.get("accept", "")
    if wants_page and not route_path(scope).startswith("/api/"):
        target = route_path(scope) or "/"
        query = scope.get("query_string", b"").decode("latin-1")
        next_path = target + (f"?{query}" if query else "")
        location = f"{scope.get('root_path', '')}{login.LOGIN_PATH}?next={quote(next_path, safe='/')}"
        return _redirect_app(location)
    return _json_app(401, "unauthorized", "Sign in first, or send an API token (Authorization: Bearer).")


def _with_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            present = {name.lower() for name, _ in headers}
            headers += [(n, v) for n, v in SECURITY_HEADERS if n not in present]
            if b"content-security-policy" not in present:
                headers.append((b"content-security-policy", CSP.encode()))
            message = {**message, "headers": headers}
        await send(message)

    return wrapped


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # later calls wait for the disconnect, as the app expects

    return replay


def _json_app(status: int, code: str, message: str) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        extra = [(b"www-authenticate", b"Bearer")] if status == 401 else []
        await _send_json(send, status, code, message, extra=extra)

    return app


def _redirect_app(location: str) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await _send_redirect(send, location)

    return app


async def _send_json(
    send: Send,
    status: int,
    code: str,
    message: str,
    *,
    close: bool = False,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:  # the unread rest of the body must not be taken for the next request
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})


async def _send_redirect(send: Send, location: str) -> None:
    headers = [(b"location", location.encode("latin-1")), (b"content-length", b"0")]
    await send({"type": "http.response.start", "status": 303, "headers": headers})
    await send({"type": "http.response.body", "body": b""})
