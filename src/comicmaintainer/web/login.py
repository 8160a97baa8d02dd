"""The sign-in page and its routes: `GET/POST /login`, `POST /logout`, `GET /api/security`.

The page is plain HTML with a stylesheet of its own and no script at all, so it works under the
strict Content-Security-Policy. A successful sign-in always creates a new session id (an id planted
before sign-in is never promoted) and drops the one the browser held. The cookie is HttpOnly,
SameSite=Strict, limited to the base path, and Secure whenever the request came over HTTPS (as seen by
the server, or as told by a trusted proxy's X-Forwarded-Proto).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers

from comicmaintainer.web.auth import FailureLimiter, SecurityConfig, SessionStore, password_valid

LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"
STYLE_PATH = "/login.css"
COOKIE = "cm_session"

STYLE = """body{font:16px system-ui,sans-serif;display:grid;place-items:center;min-height:90vh;margin:0}
form{display:grid;gap:.6em;min-width:16em;padding:1.5em;border:1px solid #8886;border-radius:8px}
label{display:grid;gap:.2em}input{font:inherit;padding:.4em}button{font:inherit;padding:.5em}
.error{color:#b00020;margin:0}
@media (prefers-color-scheme:dark){body{background:#15171a;color:#e6e6e6}.error{color:#ff8a80}}
"""


@dataclass(frozen=True)
class SecurityState:
    """What the middleware and the login routes share; kept on `app.state.security`."""

    config: SecurityConfig
    sessions: SessionStore
    limiter: FailureLimiter


def session_cookie(headers: Headers) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value or None
    return None


def safe_next(raw: str | None) -> str:
    """Where to go after signing in: only a path inside this app (no `//host`, no scheme)."""
    if (
        not raw
        or not raw.startswith("/")
        or raw.startswith("//")
        or "\\" in raw
        or any(ord(c) < 32 for c in raw)
    ):
        return "/"
    return raw


def login_router(state: SecurityState) -> APIRouter:
    router = APIRouter()

    @router.get(LOGIN_PATH, include_in_schema=False)
    def login_page(request: Request, next: str = "/") -> HTMLResponse:
        return _page(request, safe_next(next), "")

    @router.get(STYLE_PATH, include_in_schema=False)
    def login_style() -> Response:
        return Response(STYLE, media_type="text/css; charset=utf-8")

    @router.post(LOGIN_PATH, include_in_schema=False)
    async def login_submit(request: Request) -> Response:
        return await _login(request, state)

    @router.post(LOGOUT_PATH, include_in_schema=False)
    def logout(request: Request) -> Response:
        state.sessions.drop(session_cookie(request.headers))
        response = RedirectResponse(_root(request) + LOGIN_PATH, status_code=303)
        response.delete_cookie(COOKIE, path=_cookie_path(request), httponly=True, samesite="strict")
        return response

    @router.get("/api/security")
    def security_status(request: Request) -> dict[str, object]:
        """Whether sign-in is on, whether the service is open to the network without it, and who you are."""
        user = getattr(request.state, "user", None) or state.sessions.user(session_cookie(request.headers))
        return {
            "auth_enabled": state.config.auth_enabled,
            "exposed": state.config.exposed,
            "authenticated": user is not None,
            "user": user,
        }

    return router


async def _login(request: Request, state: SecurityState) -> Response:
    as_json = request.headers.get("content-type", "").startswith("application/json")
    username, password, next_path = _credentials(await request.body(), as_json)
    address = request.client.host if request.client else ""
    wait = state.limiter.retry_after(address)
    if wait > 0:
        message = f"Too many failed sign-ins; try again in {wait:.0f} s."
        return _answer(request, as_json, 429, message, next_path, {"Retry-After": str(int(wait) + 1)})
    if not state.config.auth_enabled or not await run_in_threadpool(
        password_valid, state.config, username, password
    ):
        state.limiter.failed(address)
        return _answer(request, as_json, 401, "Wrong user name or password.", next_path)
    state.limiter.succeeded(address)
    state.sessions.drop(session_cookie(request.headers))
    session_id = state.sessions.create(username)
    response: Response
    if as_json:
        response = JSONResponse({"user": username})
    else:
        response = RedirectResponse(_root(request) + next_path, status_code=303)
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=state.config.session_max_age,
        path=_cookie_path(request),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


def _credentials(body: bytes, as_json: bool) -> tuple[str, str, str]:
    """User name, password and `next` from a form or a JSON body; missing fields are empty."""
    if as_json:
        try:
            data = json.loads(body or b"{}")
        except (ValueError, UnicodeDecodeError):
            data = {}
        data = data if isinstance(data, dict) else {}
        fields = {k: v for k, v in data.items() if isinstance(v, str)}
    else:
        parsed = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
        fields = {k: v[0] for k, v in parsed.items()}
    return fields.get("username", ""), fields.get("password", ""), safe_next(fields.get("next"))


def _answer(
    request: Request,
    as_json: bool,
    status: int,
    message: str,
    next_path: str,
    headers: dict[str, str] | None = None,
) -> Response:
    if as_json:
        code = "unauthorized" if status == 401 else "too_many_requests"
        return JSONResponse(
            {"error": {"code": code, "message": message}}, status_code=status, headers=headers
        )
    response = _page(request, next_path, message)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _page(request: Request, next_path: str, error: str) -> HTMLResponse:
    root = html.escape(_root(request))
    error_html = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Sign in · ComicMaintainer</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="{root}{STYLE_PATH}"></head>
<body><main><form method="post" action="{root}{LOGIN_PATH}">
<h1>ComicMaintainer</h1>{error_html}
<label>User name <input name="username" autocomplete="username" required autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<input type="hidden" name="next" value="{html.escape(next_path)}">
<button type="submit">Sign in</button>
</form></main></body></html>
"""
    return HTMLResponse(body, headers={"Cache-Control": "no-store"})


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def _cookie_path(request: Request) -> str:
    return _root(request) + "/"
