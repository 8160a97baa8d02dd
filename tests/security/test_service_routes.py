"""The real service's app behind the security layer: every route it has needs sign-in."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from comicmaintainer.config import Settings
from comicmaintainer.web.security import PUBLIC_PATHS, install_security, server_options
from comicmaintainer.web.service import Service, build_service
from tests.security.conftest import AUTH_ENV, TOKEN, lib_settings_env
from tests.security.test_auth import GATE, SAME_ORIGIN, concrete_paths
from tests.web.conftest import LiveServer


@pytest.fixture
def service(lib_settings: Settings) -> Iterator[Service]:
    built = build_service(lib_settings, workers=1)
    try:
        yield built
    finally:
        built.stop()


def test_every_service_route_needs_sign_in(
    service: Service, lib_settings: Settings, live_server: LiveServer
) -> None:
    environ = {**lib_settings_env(lib_settings), **AUTH_ENV}
    install_security(service.app, lib_settings, host="127.0.0.1", environ=environ)
    url = live_server(service.app, **server_options(environ))
    routes = concrete_paths(service.app)
    assert len(routes) > 20 and ("POST", "/api/jobs") in routes and ("GET", "/api/files") in routes
    for method, path in routes:
        response = httpx.request(method, url + path, params={"path": "a.cbz"}, headers=SAME_ORIGIN, timeout=5)
        gated = response.status_code == 401 and GATE in response.text
        assert gated == (path not in PUBLIC_PATHS), (method, path, response.status_code)
    health = httpx.get(url + "/api/health")
    assert health.status_code in (200, 503) and "ok" in health.json()
    listed = httpx.get(url + "/api/files", headers={"Authorization": f"Bearer {TOKEN}"})
    assert listed.status_code == 200 and listed.json()["total"] == 0
