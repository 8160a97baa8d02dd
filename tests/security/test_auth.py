"""Sign-in, sessions, API tokens and failed-login limits, against a real uvicorn on loopback."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Route

from comicmaintainer.config import ConfigError, Settings
from comicmaintainer.web.auth import FailureLimiter, load_security_config
from comicmaintainer.web.login import COOKIE
from comicmaintainer.web.security import PUBLIC_PATHS
from tests.security.conftest import AUTH_ENV, PASSWORD, TOKEN, USER, AppFactory

GATE = "Sign in first"
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}


def login(url: str, *, password: str = PASSWORD, cookie: str | None = None, **headers: str) -> httpx.Response:
    extra = {**SAME_ORIGIN, **headers}
    if cookie:
        extra["Cookie"] = f"{COOKIE}={cookie}"
    form = {"username": USER, "password": password, "next": "/api/things"}
    return httpx.post(url + "/login", data=form, headers=extra, follow_redirects=False)


def session_of(response: httpx.Response) -> str:
    match = re.search(rf"{COOKIE}=([^;]+)", response.headers.get("set-cookie", ""))
    assert match, response.headers
    return match.group(1)


def route_table(routes: list[BaseRoute], prefix: str = "") -> list[tuple[str, str]]:
    """(method, path template) of every route, descending into included routers."""
    out = []
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI keeps included routers nested
        if included is not None:
            out += route_table(included.routes, prefix + route.include_context.prefix)  # type: ignore[attr-defined]
        elif isinstance(route, APIRoute | Route) and route.methods:
            out += [(m, prefix + route.path) for m in sorted(route.methods) if m != "HEAD"]
    return out


def concrete_paths(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) for every route of the app, path parameters filled with plausible values."""
    out = []
    for method, template in route_table(app.routes):
        path = re.sub(r"\{[^}:]+:path\}", "a/b.cbz", template)
        out.append((method, re.sub(r"\{[^}]+\}", "1", path)))
    return out


def test_every_route_needs_sign_in(secure_app: AppFactory) -> None:
    served = secure_app(**AUTH_ENV)
    app, url = served.app, served.url
    routes = concrete_paths(app)
    assert ("GET", "/api/events/stream") in routes and ("POST", "/api/things") in routes
    assert {path for _, path in routes} >= {"/", "/openapi.json", "/api/things/1"}
    for method, path in routes:
        response = httpx.request(method, url + path, headers=SAME_ORIGIN, timeout=5)
        if path in PUBLIC_PATHS:  # answered by the route itself (POST /login with no password: 401 page)
            assert GATE not in response.text, (method, path)
        else:
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.json()["error"]["message"].startswith(GATE)


def test_openapi_paths_need_sign_in(secure_app: AppFactory) -> None:
    url = secure_app(**AUTH_ENV).url
    spec = httpx.get(url + "/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert "/api/things" in spec["paths"]
    for path, operations in spec["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        for method in operations:
            response = httpx.request(method.upper(), url + concrete, headers=SAME_ORIGIN)
            gated = response.status_code == 401 and GATE in response.text
            assert gated == (path not in PUBLIC_PATHS), (method, path, response.status_code)


def test_page_redirects_to_login_and_back(secure_app: AppFactory) -> None:
    url = secure_app(**AUTH_ENV).url
    response = httpx.get(url + "/?x=1", headers={"Accept": "text/html"})
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/%3Fx%3D1"
    page = httpx.get(url + response.headers["location"])
    assert page.status_code == 200 and "<form" in page.text and "<script" not in page.text
    assert 'value="/?x=1"' in page.text


def test_login_sets_a_strict_http_only_cookie(secure_app: AppFactory) -> None:
    url = secure_app(**AUTH_ENV).url
    response = login(url)
    assert response.status_code == 303 and response.headers["location"] == "/api/things"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP here; see the trusted proxy test
    session = session_of(response)
    things = httpx.get(url + "/api/things", headers={"Cookie": f"{COOKIE}={session}"})
    assert things.status_code == 200 and things.json()["user"] == USER
    status = httpx.get(url + "/api/security", headers={"Cookie": f"{COOKIE}={session}"}).json()
    assert status == {"auth_enabled": True, "exposed": False, "authenticated": True, "user": USER}


def test_wrong_password_is_refused(secure_app: AppFactory) -> None:
    url = secure_app(**AUTH_ENV).url
    response = login(url, password="wrong")
    assert response.status_code == 401 and "set-cookie" not in response.headers
    assert "Wrong user name or password" in response.text
    as_json = httpx.post(
        url + "/login", json={"username": "nobody", "password": PASSWORD}, headers=SAME_ORIGIN
    )
    assert as_json.status_code == 401 and as_json.json()["error"]["code"] == "unauthorized"


def test_session_fixation_a_planted_id_is_never_promoted(secure_app: AppFactory) -> None:
    url = secure_app(**AUTH_ENV).url
    planted = "attacker-chosen-session-id"
    response = login(url, cookie=planted)
    issued = session_of(response)
    assert issued != planted
    assert httpx.get(url + "/api/things", headers={"Cookie": f"{COOKIE}={planted}"}).status_code == 401
    # Signing in again rotates the id and the previous one stops working.
    second = session_of(login(url, cookie=issued))
    assert second != issued
    assert httpx.get(url + "/api/things", headers={"Cookie": f"{COOKIE}={issued}"}).status_code == 401
    assert httpx.get(url + "/api/things", headers={"Cookie": f"{COOKIE}={second}"}).status_code == 200


def test_logout_ends_the_session(secure_app: AppFactory) -> None:
    url = secure_app(**AUTH_ENV).url
    cookie = {"Cookie": f"{COOKIE}={session_of(login(url))}"}
    out = httpx.post(url + "/logout", headers={**cookie, **SAME_ORIGIN})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert httpx.get(url + "/api/things", headers=cookie).status_code == 401


def test_api_tokens_from_env_and_file(secure_app: AppFactory, lib_settings: Settings) -> None:
    file_token = "from-the-file-0123456789abcdef0123"
    (lib_settings.config_dir / "api_tokens").write_text(f"# scripts\n{file_token}  # backup job\n")
    url = secure_app(**AUTH_ENV).url
    for token in (TOKEN, file_token):
        response = httpx.get(url + "/api/things", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200 and response.json()["user"] == USER
    wrong = httpx.get(url + "/api/things", headers={"Authorization": "Bearer not-a-valid-token-at-all"})
    assert wrong.status_code == 401
    # The event stream honours the same rule.
    with httpx.stream("GET", url + "/api/events/stream", headers={"Authorization": f"Bearer {TOKEN}"}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert httpx.get(url + "/api/events/stream").status_code == 401


def test_failed_logins_are_rate_limited_per_address(secure_app: AppFactory) -> None:
    url = secure_app(**AUTH_ENV).url
    codes = [login(url, password=f"guess {i}").status_code for i in range(7)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]
    blocked = login(url)  # even the right password waits until the window passes
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0


def test_failure_limiter_window() -> None:
    limiter = FailureLimiter(allowed=2, window=0.2)
    limiter.failed("a")
    assert limiter.retry_after("a") == 0
    limiter.failed("a")
    assert 0 < limiter.retry_after("a") <= 0.2 and limiter.retry_after("b") == 0
    limiter.succeeded("a")
    assert limiter.retry_after("a") == 0


def test_secure_cookie_only_when_a_trusted_proxy_says_https(secure_app: AppFactory) -> None:
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    untrusted = secure_app(**AUTH_ENV).url
    assert "Secure" not in login(untrusted, **forwarded).headers["set-cookie"]
    trusted = secure_app(**AUTH_ENV, TRUSTED_PROXIES="127.0.0.1").url
    assert "Secure" in login(trusted, **forwarded).headers["set-cookie"]


def test_exposed_without_login_is_flagged_once(
    secure_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING"):
        url = secure_app(HOST="0.0.0.0").url
    warnings = [r for r in caplog.records if "no login" in r.getMessage()]
    assert len(warnings) == 1
    status = httpx.get(url + "/api/security").json()
    assert status["auth_enabled"] is False and status["exposed"] is True
    local = secure_app().url
    assert httpx.get(local + "/api/security").json()["exposed"] is False


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AUTH_USERNAME": "x"}, "neither AUTH_PASSWORD"),
        ({"AUTH_PASSWORD": "x"}, "AUTH_USERNAME is not"),
        ({"AUTH_USERNAME": "x", "AUTH_PASSWORD_HASH": "plain"}, "argon2"),
        ({"API_TOKENS": "short"}, "shorter than 16"),
        ({"TRUSTED_PROXIES": "proxy.local"}, "TRUSTED_PROXIES"),
        ({"BASE_PATH": "/a/../b"}, "BASE_PATH"),
        ({"MAX_BODY_BYTES": "lots"}, "MAX_BODY_BYTES"),
    ],
)
def test_bad_security_settings_are_one_line(
    lib_settings: Settings, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        load_security_config(lib_settings, env)
    assert "\n" not in str(info.value)


def test_password_hash_variable(lib_settings: Settings, secure_app: AppFactory) -> None:
    from argon2 import PasswordHasher

    url = secure_app(AUTH_USERNAME=USER, AUTH_PASSWORD_HASH=PasswordHasher().hash(PASSWORD)).url
    assert login(url).status_code == 303
    assert login(url, password="nope").status_code == 401
