"""Small fake Komga, Kavita and notification endpoints on loopback, recording every request.

They answer the shapes the real servers answer (see integrations/readers.py) and check the same
credentials. A fake can go down (its socket is closed: connections are refused) and come back on
the same port.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any

    def line(self) -> str:
        query = "&".join(f"{k}={'…' if k == 'apiKey' else v[0]}" for k, v in self.query.items())
        shown = (
            {**self.body, "apiKey": "…"}
            if isinstance(self.body, dict) and "apiKey" in self.body
            else self.body
        )
        body = "" if shown in (None, b"") else f" {json.dumps(shown)[:120]}"
        return f"{self.method} {self.path}{'?' + query if query else ''}{body}"


@dataclass
class Fake:
    """A fake endpoint; ``answer(seen) -> (status, json)`` decides each reply."""

    libraries: list[dict[str, Any]] = field(default_factory=list)
    api_key: str = "good-key"
    user: tuple[str, str] | None = None
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._cond = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        self.up()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._handle(self)

            def do_POST(self) -> None:
                fake._handle(self)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
        self._server = None

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        seen = Seen(handler.command, parts.path, parse_qs(parts.query), dict(handler.headers), body)
        status, payload = self.answer(seen)
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
        with self._cond:
            self.seen.append(seen)
            self._cond.notify_all()

    def answer(self, seen: Seen) -> tuple[int, Any]:
        return 200, {}

    def wait_for(self, count: int, timeout: float = 20.0, path_part: str = "") -> list[Seen]:
        """The first ``count`` requests whose path holds ``path_part``, once they have arrived."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.matching(path_part)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.matching(path_part))} of {count} requests arrived")
                self._cond.wait(left)
            return self.matching(path_part)

    def matching(self, path_part: str) -> list[Seen]:
        return [s for s in self.seen if path_part in s.path]

    def scans(self) -> list[Seen]:
        return [s for s in self.seen if "scan" in s.path]

    def close(self) -> None:
        if self._server is not None:
            self.down()


class FakeKomga(Fake):
    def answer(self, seen: Seen) -> tuple[int, Any]:
        key_ok = seen.headers.get("X-API-Key") == self.api_key
        if self.user and seen.headers.get("Authorization", "").startswith("Basic "):
            given = base64.b64decode(seen.headers["Authorization"][6:]).decode()
            key_ok = key_ok or given == ":".join(self.user)
        if not key_ok:
            return 401, {"error": "Unauthorized"}
        if seen.method == "GET" and seen.path == "/api/v1/libraries":
            return 200, self.libraries
        if (
            seen.method == "POST"
            and seen.path.startswith("/api/v1/libraries/")
            and seen.path.endswith("/scan")
        ):
            return 202, {}
        return 404, {"error": "Not Found"}


class FakeKavita(Fake):
    token = "jwt-token-123"

    def answer(self, seen: Seen) -> tuple[int, Any]:
        if seen.path == "/api/Plugin/authenticate":
            if seen.query.get("apiKey") != [self.api_key]:
                return 401, {}
            return 200, {
                "username": "admin",
                "token": self.token,
                "refreshToken": "r",
                "apiKey": self.api_key,
            }
        if seen.path == "/api/Library/scan-folder":
            ok = isinstance(seen.body, dict) and seen.body.get("apiKey") == self.api_key
            return (200, {}) if ok else (401, {})
        if seen.headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {}
        if seen.method == "GET" and seen.path == "/api/Library/libraries":
            return 200, self.libraries
        if seen.method == "POST" and seen.path == "/api/Library/scan":
            return 200, {}
        return 404, {}


class FakeNotify(Fake):
    """What Apprise's ``json://`` posts: ``{"version", "title", "message", "type", ...}``."""

    def messages(self) -> list[dict[str, Any]]:
        return [s.body for s in self.seen if isinstance(s.body, dict)]
