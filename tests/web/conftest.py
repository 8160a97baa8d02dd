"""`live_server`: a real uvicorn server on a free loopback port, in a background thread.

    def test_something(live_server):
        url = live_server(create_app(bus))          # "http://127.0.0.1:PORT"
        httpx.get(url + "/api/...")

Every server started in a test is stopped at teardown. Close your streams (or call `bus.close()`)
before the test ends: uvicorn waits up to `timeout_graceful_shutdown` (1 s here) for open
responses, then cancels them.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import uvicorn
from starlette.types import ASGIApp

LiveServer = Callable[..., str]


class _ServerThread:
    def __init__(self, app: ASGIApp, **config: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Binding port 0 here, before uvicorn starts, avoids the race of "find a free port, then bind".
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        options: dict[str, Any] = {"log_config": None, "log_level": "warning", "timeout_graceful_shutdown": 1}
        options.update(config)
        self.server = uvicorn.Server(uvicorn.Config(app, **options))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, name=f"uvicorn-{self.port}", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on port {self.port}")
            time.sleep(0.01)

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        self.sock.close()
        if self.thread.is_alive():
            raise RuntimeError(f"uvicorn on port {self.port} did not stop within {timeout} s")


@pytest.fixture
def live_server() -> Iterator[LiveServer]:
    """A factory: `live_server(app, **uvicorn_config) -> base URL`; servers stop at teardown."""
    started: list[_ServerThread] = []

    def start(app: ASGIApp, **config: Any) -> str:
        server = _ServerThread(app, **config)
        started.append(server)
        server.start()
        return server.url

    yield start
    for server in reversed(started):
        server.stop()
