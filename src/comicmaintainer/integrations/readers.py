"""Komga and Kavita over HTTP: list libraries (with their folders there), ask for a rescan.

Komga (REST v1): ``X-API-Key`` header, or HTTP basic with user and password;
``GET /api/v1/libraries`` gives ``[{id, name, root}]``; ``POST /api/v1/libraries/{id}/scan``.
Kavita: ``POST /api/Plugin/authenticate?apiKey=…&pluginName=…`` turns the API key into a JWT
(``{"token": …}``) sent as ``Authorization: Bearer``; ``GET /api/Library/libraries`` gives
``[{id, name, folders}]`` (newer versions answer at ``GET /api/Library``);
``POST /api/Library/scan-folder`` with ``{"apiKey", "folderPath"}`` rescans one series folder
and ``POST /api/Library/scan?libraryId=`` a whole library.

Errors are `ReaderError`s whose text is one plain line that never holds a key or a URL query:
httpx's own messages name the URL, and Kavita's URLs carry the key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

from comicmaintainer import __version__

# httpx logs every request line at INFO, and a Kavita login URL carries the API key.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

PLUGIN_NAME = "ComicMaintainer"
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class ReaderError(Exception):
    """The server could not be reached or answered with an error; ``str()`` is one plain line."""


class RefusedKey(ReaderError):
    """The server refused the key (or user and password)."""


@dataclass(frozen=True)
class Library:
    id: str
    name: str
    paths: tuple[str, ...]  # the library's folders as the server sees them


class ReaderClient:
    """One configured server. Not thread-safe: each server has its own worker thread."""

    def __init__(self, server: dict[str, Any], *, transport: httpx.BaseTransport | None = None) -> None:
        self.server = server
        self.name: str = server["name"]
        self._http = httpx.Client(
            base_url=server["url"],
            timeout=TIMEOUT,
            headers={"User-Agent": f"ComicMaintainer/{__version__}"},
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def libraries(self) -> list[Library]:
        raise NotImplementedError

    def scan_library(self, library_id: str) -> None:
        raise NotImplementedError

    def scan_folder(self, library_id: str, remote_folder: str) -> None:
        """Rescan one series folder where the server can; otherwise the whole library."""
        self.scan_library(library_id)

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise ReaderError(f"{self.name}: no answer within {TIMEOUT.read:g} s") from None
        except httpx.HTTPError as exc:
            reason = str(exc.__context__ or exc.__class__.__name__).split("\n")[0]
            raise ReaderError(f"{self.name}: cannot connect ({reason})") from None
        if response.status_code in (401, 403):
            raise RefusedKey(f"{self.name}: the server refused the key (HTTP {response.status_code})")
        if response.status_code >= 400:
            raise ReaderError(
                f"{self.name}: {method} {path.split('?')[0]} answered HTTP {response.status_code}"
            )
        return response


class Komga(ReaderClient):
    def _auth(self) -> dict[str, Any]:
        if self.server["api_key"]:
            return {"headers": {"X-API-Key": self.server["api_key"]}}
        return {"auth": (self.server["username"], self.server["password"])}

    def libraries(self) -> list[Library]:
        data = _json_list(self, self._call("GET", "/api/v1/libraries", **self._auth()))
        return [Library(str(d.get("id")), str(d.get("name", "")), (str(d.get("root", "")),)) for d in data]

    def scan_library(self, library_id: str) -> None:
        self._call("POST", f"/api/v1/libraries/{library_id}/scan", **self._auth())


class Kavita(ReaderClient):
    def __init__(self, server: dict[str, Any], *, transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(server, transport=transport)
        self._token: str | None = None

    def _bearer(self) -> dict[str, Any]:
        if self._token is None:
            params = {"apiKey": self.server["api_key"], "pluginName": PLUGIN_NAME}
            answer = self._call("POST", "/api/Plugin/authenticate", params=params)
            data = _json(self, answer)
            token = data.get("token") if isinstance(data, dict) else None
            if not isinstance(token, str) or not token:
                raise ReaderError(f"{self.name}: the login answer holds no token")
            self._token = token
        return {"headers": {"Authorization": f"Bearer {self._token}"}}

    def _authed(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A JWT expires: a refused call logs in again once before it counts as refused."""
        try:
            return self._call(method, path, **self._bearer(), **kwargs)
        except RefusedKey:
            self._token = None
            return self._call(method, path, **self._bearer(), **kwargs)

    def libraries(self) -> list[Library]:
        try:
            answer = self._authed("GET", "/api/Library/libraries")
        except ReaderError as exc:
            if isinstance(exc, RefusedKey) or "HTTP 404" not in str(exc):
                raise
            answer = self._authed("GET", "/api/Library")
        return [
            Library(str(d.get("id")), str(d.get("name", "")), tuple(str(f) for f in d.get("folders") or ()))
            for d in _json_list(self, answer)
        ]

    def scan_library(self, library_id: str) -> None:
        self._authed("POST", "/api/Library/scan", params={"libraryId": library_id})

    def scan_folder(self, library_id: str, remote_folder: str) -> None:
        try:
            body = {"apiKey": self.server["api_key"], "folderPath": remote_folder}
            self._call("POST", "/api/Library/scan-folder", json=body)
        except RefusedKey:
            raise
        except ReaderError as exc:
            if "HTTP 4" not in str(exc):  # down: retried later as a whole; refused by rule: fall back
                raise
            self.scan_library(library_id)


def client_for(server: dict[str, Any], *, transport: httpx.BaseTransport | None = None) -> ReaderClient:
    kind = Komga if server["kind"] == "komga" else Kavita
    return kind(server, transport=transport)


def _json(client: ReaderClient, response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ReaderError(f"{client.name}: the answer is not JSON (is the URL right?)") from None


def _json_list(client: ReaderClient, response: httpx.Response) -> list[dict[str, Any]]:
    data = _json(client, response)
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise ReaderError(f"{client.name}: the library list is not a list of libraries")
    return data
