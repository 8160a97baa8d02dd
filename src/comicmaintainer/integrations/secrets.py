"""Secrets in settings (API keys, passwords, notification URLs): masked for every answer and log.

The page shows a masked value and may send it back unchanged: `keep_secrets` then puts the stored
secret back in its place, so saving a form never turns a key into the mask.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

MASK = "********"
SERVER_SECRETS = ("api_key", "password")


def mask_servers(servers: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**s, **{k: MASK if s.get(k) else "" for k in SERVER_SECRETS}} for s in servers]


def load_apprise() -> Any:
    """Apprise, imported on first use: it loads every plugin, which start-up need not wait for.

    Its e-mail plugin imports the standard library's ``imghdr``, deprecated since Python 3.11;
    that notice is Apprise's to act on, so it is silenced here and only here.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="'imghdr' is deprecated", category=DeprecationWarning)
        import apprise

        apprise.Apprise.instantiate("json://localhost")  # plugins load now, inside the filter
    return apprise


def mask_url(url: str) -> str:
    """The scheme and where it goes, with every credential and token hidden.

    Apprise's own privacy rendering knows which part of each of its 100 URL forms is secret;
    a URL it cannot read shows only its scheme.
    """
    plugin = load_apprise().Apprise.instantiate(url)
    if plugin is not None:
        try:
            shown = str(plugin.url(privacy=True))
            if shown and not _leaks(url, shown):
                return shown
        except Exception:  # noqa: S110 - an odd plugin falls back to the scheme alone
            pass
    return f"{urlsplit(url).scheme or '?'}://{MASK}"


def _leaks(url: str, shown: str) -> bool:
    password = urlsplit(url).password
    return password is not None and password in shown


def mask_urls(urls: Iterable[str]) -> list[str]:
    return [mask_url(u) for u in urls]


def keep_secrets(incoming: list[dict[str, Any]], stored: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Servers from the page, with each masked secret replaced by the stored one of the same name."""
    by_name = {s["name"]: s for s in stored}
    out = []
    for server in incoming:
        server = dict(server)
        old = by_name.get(server.get("name", ""), {})
        for key in SERVER_SECRETS:
            if server.get(key) == MASK:
                server[key] = old.get(key, "")
        out.append(server)
    return out


def keep_urls(incoming: list[str], stored: Sequence[str]) -> list[str]:
    """URLs from the page: one equal to a stored URL's mask is that stored URL."""
    masked = {mask_url(u): u for u in stored}
    return [masked.get(u, u) for u in incoming]


class Redactor(logging.Filter):
    """Replaces every configured secret in a log record with the mask (for libraries' own logs)."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: tuple[str, ...] = ()

    def set_secrets(self, servers: Iterable[dict[str, Any]], urls: Iterable[str]) -> None:
        found = {s.get(k, "") for s in servers for k in SERVER_SECRETS}
        for url in urls:
            parts = urlsplit(url)
            found |= {url, parts.password or "", parts.username or "", parts.path.strip("/")}
            found |= set(parts.path.split("/"))
        # Longest first, so a URL is masked whole before its parts; short words are not secrets.
        self._secrets = tuple(sorted((s for s in found if len(s) >= 6), key=len, reverse=True))

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            text = record.getMessage()
            for secret in self._secrets:
                text = text.replace(secret, MASK)
            record.msg, record.args = text, None
        return True
