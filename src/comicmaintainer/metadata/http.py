"""Polite HTTP for every source: a rate limit, timeouts, retries with back-off, 429 + Retry-After,
and answers cached in the store for a time to live.

Why our own and not mokkari/simyan (the maintained Metron and ComicVine clients): both sit on
``requests`` with their own process-wide rate limiters and their own SQLite caches. A second cache
and limiter beside the store's would make "a second run makes no request" and "never over the
published rate" two places' promise instead of one, and would add ``requests`` to our dependencies
for two of five sources. One small httpx layer keeps these manners the same for all five.

Secrets never leave this module in text: errors are written here from the status code alone
(httpx's own messages carry the URL, and ComicVine's key travels in the query string), the cache key
is built from the request *without* the secret parameters, and httpx's request log is kept quiet.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from comicmaintainer.metadata.model import KeyRefused, NotFoundAtSource, SourceError

# httpx logs every request's full URL at INFO; a ComicVine URL holds the API key.
logging.getLogger("httpx").setLevel(logging.WARNING)
log = logging.getLogger("comicmaintainer.metadata")

USER_AGENT = "ComicMaintainer/0.1 (self-hosted library tidier)"  # MangaDex requires a real one
MAX_RETRY_AFTER = 120.0  # seconds; a longer wait fails the item instead of holding a worker


class Cache(Protocol):
    def get(self, key: str) -> Any | None: ...
    def put(self, key: str, source: str, value: Any, ttl: float) -> None: ...


@dataclass
class Manners:
    """How one source is treated. ``per_minute`` is at or under the source's published limit."""

    per_minute: float
    timeout: float = 10.0
    retries: int = 3
    backoff: float = 0.5  # seconds before the first retry; doubled each time
    ttl: float = 30 * 86400.0


@dataclass
class _Pace:
    """The earliest moment the next request may leave (one per source, shared by all threads)."""

    interval: float
    next_at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_turn(self, sleep: Callable[[float], None]) -> None:
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next_at)
            self.next_at = start + self.interval
        if start > now:
            sleep(start - now)

    def hold_off(self, seconds: float) -> None:
        with self.lock:
            self.next_at = max(self.next_at, time.monotonic() + seconds)


class SourceHttp:
    """GET/POST JSON against one source's base URL, cached, paced and retried."""

    def __init__(
        self,
        source: str,
        base_url: str,
        manners: Manners,
        cache: Cache | None,
        *,
        secret_params: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.source = source
        self.requests = 0  # sent over the wire, for the bench and the tests
        self._manners = manners
        self._cache = cache
        self._secret_params = dict(secret_params or {})
        self._pace = _Pace(60.0 / manners.per_minute)
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            timeout=manners.timeout,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            auth=auth,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._client.close()

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._cached("GET", path, dict(params or {}), None)

    def post(self, path: str, body: Mapping[str, Any]) -> Any:
        return self._cached("POST", path, {}, dict(body))

    def _cached(self, method: str, path: str, params: dict[str, Any], body: dict[str, Any] | None) -> Any:
        key = _cache_key(self.source, method, path, params, body)
        if self._cache is not None:
            hit = self._cache.get(key)
            if hit is not None:
                return hit
        value = self._send(method, path, params, body)
        if self._cache is not None:
            self._cache.put(key, self.source, value, self._manners.ttl)
        return value

    def _send(self, method: str, path: str, params: dict[str, Any], body: dict[str, Any] | None) -> Any:
        manners = self._manners
        delay = manners.backoff
        for attempt in range(manners.retries + 1):
            last = attempt == manners.retries
            self._pace.wait_turn(self._sleep)
            self.requests += 1
            try:
                response = self._client.request(
                    method, path.lstrip("/"), params={**params, **self._secret_params} or None, json=body
                )
            except httpx.TimeoutException:
                failure = f"{self.source}: no answer within {manners.timeout:g} s"
            except httpx.TransportError:
                failure = f"{self.source}: cannot be reached (down or no network)"
            except httpx.HTTPError as exc:  # its message would carry the URL, and with it a key
                raise SourceError(f"{self.source}: the request failed ({type(exc).__name__})") from None
            else:
                outcome = self._judge(response)
                if not isinstance(outcome, _Retry):
                    return outcome
                failure = outcome.reason
                if outcome.wait is not None and not last:
                    self._pace.hold_off(outcome.wait)
                    continue
            if last:
                break
            log.info("%s; trying again in %.1f s", failure, delay)
            self._sleep(delay)
            delay *= 2
        raise SourceError(failure)

    def _judge(self, response: httpx.Response) -> Any:
        """The JSON of a good answer, a `_Retry`, or a raised one-line error."""
        status = response.status_code
        if status == 429:
            wait = _retry_after(response.headers.get("Retry-After"))
            if wait > MAX_RETRY_AFTER:
                raise SourceError(f"{self.source}: rate limited for {wait:.0f} s; try again later")
            return _Retry(f"{self.source}: rate limited (HTTP 429)", wait)
        if status in (401, 403):
            raise KeyRefused(f"{self.source}: the key or login was refused (HTTP {status})")
        if status == 404:
            raise NotFoundAtSource(f"{self.source}: no such series (HTTP 404)")
        if status >= 500:
            return _Retry(f"{self.source}: server error (HTTP {status})", None)
        if status >= 400:
            raise SourceError(f"{self.source}: the request was refused (HTTP {status})")
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise SourceError(f"{self.source}: the answer is not JSON") from None


@dataclass(frozen=True)
class _Retry:
    reason: str
    wait: float | None  # the source said how long (Retry-After); None: our own back-off


def _retry_after(header: str | None) -> float:
    """Seconds from a Retry-After header, in seconds or as an HTTP date; 1 s when absent or unreadable."""
    if not header:
        return 1.0
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return 1.0
    return max(0.0, when.timestamp() - time.time())


def _cache_key(source: str, method: str, path: str, params: dict[str, Any], body: Any) -> str:
    text = json.dumps([source, method, path.lstrip("/"), params, body], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()
