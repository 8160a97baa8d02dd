"""Fixtures for the security tests: a small app with the security layer, served by a real uvicorn.

`secure_app(**env)` builds `create_app` with a few routes of its own (a read, a write echoing the body
size, a path-taking route) plus the page router, then `install_security` with `env` on top of the
library settings. `live_server` (from tests/web) serves it on loopback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, Request

from comicmaintainer.config import Settings
from comicmaintainer.jobs.events import EventBus
from comicmaintainer.web.app import create_app
from comicmaintainer.web.pages import pages_router
from comicmaintainer.web.security import install_security, server_options
from tests.conftest import make_settings
from tests.web.conftest import LiveServer, live_server  # noqa: F401 - re-exported fixture

USER = "reader"
PASSWORD = "correct horse battery staple"
TOKEN = "t0ken-for-scripts-0123456789abcdef"
AUTH_ENV = {"AUTH_USERNAME": USER, "AUTH_PASSWORD": PASSWORD, "API_TOKENS": TOKEN}

AppFactory = Callable[..., "Served"]


def demo_router() -> APIRouter:
    router = APIRouter(prefix="/api")

    @router.get("/things")
    def things(request: Request) -> dict[str, Any]:
        return {"things": [1, 2], "user": getattr(request.state, "user", None)}

    @router.post("/things")
    async def add_thing(request: Request) -> dict[str, Any]:
        return {"received": len(await request.body())}

    @router.get("/things/{thing_id}")
    def thing(thing_id: int) -> dict[str, int]:
        return {"id": thing_id}

    @router.get("/health")
    def health() -> dict[str, bool]:
        return {"ok": True}

    return router


@pytest.fixture
def lib_settings(tmp_path: Path) -> Settings:
    watched = tmp_path / "library"
    watched.mkdir()
    return make_settings(watched, tmp_path)


@pytest.fixture
def secure_app(lib_settings: Settings, live_server: LiveServer) -> Iterator[AppFactory]:  # noqa: F811
    """`secure_app(**env) -> Served(app, url)`: built, secured with `env`, running as serve() runs it."""
    buses: list[EventBus] = []

    def build(**env: str) -> Served:
        bus = EventBus()
        buses.append(bus)
        app = create_app(bus, routers=[demo_router(), pages_router()], sse_ping_seconds=0.2)
        environ = {**lib_settings_env(lib_settings), "HOST": "127.0.0.1", **env}
        install_security(app, lib_settings, environ=environ)
        return Served(app, live_server(app, **server_options(environ)))

    yield build
    for bus in buses:
        bus.close()


@dataclass(frozen=True)
class Served:
    app: FastAPI
    url: str


def lib_settings_env(settings: Settings) -> dict[str, str]:
    return {"WATCHED_DIR": str(settings.watched_dir), "CONFIG_DIR": str(settings.config_dir)}
