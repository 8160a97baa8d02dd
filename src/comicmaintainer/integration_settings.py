"""The shapes of the reader-server and notification settings, checked for `config.py`. Pure.

Each checker takes the JSON value (from config.json or the API) and returns it normalized, or
raises ``ValueError`` with the end of one plain sentence ("must be …"); config.py puts the key
name in front. Secrets (API keys, passwords, notification URLs) are kept as given: masking them
for the page is `integrations.secrets`' job.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

SERVER_KINDS = ("komga", "kavita")
MAX_SERVERS = 20
MAX_URLS = 50
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.-]{0,59}")
# Every kind of notification and whether it is on when config.json does not say.
NOTIFY_EVENTS: Mapping[str, bool] = MappingProxyType(
    {
        "job_finished": True,
        "file_failed": True,
        "duplicate": True,
        "needs_attention": True,
        "series_match": True,
    }
)
_SERVER_TEXT = ("api_key", "username", "password", "remote_root")


def check_servers(value: object) -> tuple[dict[str, Any], ...]:
    if not isinstance(value, list | tuple):
        raise ValueError("must be a list of servers")
    if len(value) > MAX_SERVERS:
        raise ValueError(f"must hold at most {MAX_SERVERS} servers")
    servers = tuple(_server(i, raw) for i, raw in enumerate(value))
    names = [s["name"] for s in servers]
    if len(set(names)) != len(names):
        raise ValueError("must give each server its own name")
    return servers


def _server(index: int, raw: object) -> dict[str, Any]:
    where = f"server {index + 1}"
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where} must be an object")
    unknown = set(raw) - {"name", "kind", "url", "enabled", "libraries", *_SERVER_TEXT}
    if unknown:
        raise ValueError(f"{where} has unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"{where} needs a name of 1 to 60 letters, digits, spaces, '_', '.', '-'")
    if raw.get("kind") not in SERVER_KINDS:
        raise ValueError(f"{where} ({name}) kind must be komga or kavita")
    server: dict[str, Any] = {"name": name, "kind": raw["kind"], "url": _base_url(where, raw.get("url"))}
    for key in _SERVER_TEXT:
        text = raw.get(key, "")
        if not isinstance(text, str) or len(text) > 1000:
            raise ValueError(f"{where} ({name}) {key} must be text")
        server[key] = text.strip()
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ValueError(f"{where} ({name}) enabled must be true or false")
    server["enabled"] = enabled
    server["libraries"] = _libraries(f"{where} ({name})", raw.get("libraries", []))
    if not server["api_key"] and not (server["kind"] == "komga" and server["username"]):
        raise ValueError(f"{where} ({name}) needs an api_key" + (" or a username" * (raw["kind"] == "komga")))
    return server


def _base_url(where: str, url: object) -> str:
    if not isinstance(url, str):
        raise ValueError(f"{where} url must be text")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"{where} url must be an http(s) address such as http://komga:25600")
    return url.strip().rstrip("/")


def _libraries(where: str, value: object) -> list[dict[str, str]]:
    """Explicit mapping: library id there -> folder here (relative to WATCHED_DIR, "" = all of it).
    An empty list means: find each library by its path."""
    if not isinstance(value, list):
        raise ValueError(f"{where} libraries must be a list")
    out = []
    for item in value:
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str | int):
            raise ValueError(f"{where} libraries must be objects with an id and a folder")
        folder = item.get("folder", "")
        if not isinstance(folder, str) or folder.startswith("/") or ".." in folder.split("/"):
            raise ValueError(f"{where} library folder must be a path inside the library, like Manga")
        out.append({"id": str(item["id"]).strip(), "folder": folder.strip().strip("/")})
    return out


def check_urls(value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(u, str) for u in value):
        raise ValueError("must be a list of Apprise URLs")
    urls = tuple(u.strip() for u in value if u.strip())
    if len(urls) > MAX_URLS:
        raise ValueError(f"must hold at most {MAX_URLS} URLs")
    for number, url in enumerate(urls, start=1):
        if "://" not in url or len(url) > 4000:
            raise ValueError(f"URL {number} must look like scheme://… (see the Apprise list of services)")
    return urls


def check_events(value: object) -> dict[str, bool]:
    if not isinstance(value, Mapping):
        raise ValueError("must be an object of event: true/false")
    unknown = set(value) - set(NOTIFY_EVENTS)
    if unknown:
        raise ValueError(f"has unknown event(s) {', '.join(sorted(map(str, unknown)))}")
    if not all(isinstance(v, bool) for v in value.values()):
        raise ValueError("must switch each event with true or false")
    return {**NOTIFY_EVENTS, **value}
