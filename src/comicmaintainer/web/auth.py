"""Who may use the service: the security settings, password and token checks, sessions, failed-login limits.

Nothing here knows HTTP. `web/security.py` (the middleware) and `web/login.py` (the login page) use it.

- Login is optional: `AUTH_USERNAME` with `AUTH_PASSWORD` (hashed in memory at start) or
  `AUTH_PASSWORD_HASH` (an argon2id hash, made with `python -m comicmaintainer.web.auth`).
- API tokens for scripts come from `API_TOKENS` (comma-separated) and from `CONFIG_DIR/api_tokens`
  (one per line, `#` starts a comment). Only their SHA-256 digests are kept in memory.
- Sessions live in memory: a restart signs everyone out, and a stolen cookie dies with the process.

Run as a module it reads a password twice from the terminal and prints its hash for `AUTH_PASSWORD_HASH`.
"""

from __future__ import annotations

import getpass
import hashlib
import ipaddress
import os
import secrets
import sys
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from comicmaintainer.config import MIB, ConfigError, Settings

TOKENS_FILE = "api_tokens"
DEFAULT_SESSION_MAX_AGE = 7 * 24 * 3600
LOGIN_FAILURES_ALLOWED = 5
LOGIN_WINDOW_SECONDS = 300.0
MAX_SESSIONS = 1000
MAX_TRACKED_ADDRESSES = 10_000
# The serve command's default: inside a container every interface is the expected binding.
DEFAULT_HOST = "0.0.0.0"  # noqa: S104  # nosec B104
LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost"})

_HASHER = PasswordHasher()
# Verified when the user name is wrong, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class SecurityConfig:
    """Everything the security layer needs, read once from the environment."""

    username: str | None = None
    password_hash: str | None = None
    token_digests: frozenset[bytes] = frozenset()
    trusted_proxies: tuple[str, ...] = ()
    base_path: str = ""
    host: str = DEFAULT_HOST
    max_body_bytes: int = MIB
    body_timeout: float = 30.0
    header_timeout: float = 10.0
    session_max_age: int = DEFAULT_SESSION_MAX_AGE

    @property
    def auth_enabled(self) -> bool:
        return self.username is not None

    @property
    def exposed(self) -> bool:
        """Reachable from other machines with no login in front of it."""
        return not self.auth_enabled and not is_loopback(self.host)


def load_security_config(
    settings: Settings, environ: Mapping[str, str] = os.environ, *, host: str | None = None
) -> SecurityConfig:
    """Read and check the security variables; a bad value raises `ConfigError` (one plain line).

    `host` is the address the server listens on (default: `HOST`, as `comicmaintainer serve` reads it).
    """
    username, password_hash = _credentials(environ)
    return SecurityConfig(
        username=username,
        password_hash=password_hash,
        token_digests=frozenset(digest(t) for t in load_tokens(settings.config_dir, environ)),
        trusted_proxies=_proxies(environ.get("TRUSTED_PROXIES", "")),
        base_path=normalize_base_path(environ.get("BASE_PATH", "")),
        host=host or environ.get("HOST", "").strip() or DEFAULT_HOST,
        max_body_bytes=int(_number(environ, "MAX_BODY_BYTES", MIB, 1024, 1024 * MIB)),
        body_timeout=_number(environ, "BODY_TIMEOUT", 30.0, 0.1, 3600),
        header_timeout=_number(environ, "HEADER_TIMEOUT", 10.0, 0.1, 3600),
        session_max_age=int(_number(environ, "SESSION_MAX_AGE", DEFAULT_SESSION_MAX_AGE, 60, 365 * 86400)),
    )


def _credentials(environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    username = environ.get("AUTH_USERNAME", "").strip() or None
    password = environ.get("AUTH_PASSWORD", "")
    stored = environ.get("AUTH_PASSWORD_HASH", "").strip()
    if username is None:
        if password or stored:
            raise ConfigError("AUTH_PASSWORD or AUTH_PASSWORD_HASH is set but AUTH_USERNAME is not")
        return None, None
    if stored:
        if not stored.startswith("$argon2"):
            raise ConfigError(
                "AUTH_PASSWORD_HASH must be an argon2 hash (python -m comicmaintainer.web.auth)"
            )
        return username, stored
    if not password:
        raise ConfigError("AUTH_USERNAME is set but neither AUTH_PASSWORD nor AUTH_PASSWORD_HASH is")
    return username, _HASHER.hash(password)


def load_tokens(config_dir: Path, environ: Mapping[str, str]) -> list[str]:
    """Tokens from `API_TOKENS` and `config_dir/api_tokens`; too-short tokens are refused."""
    tokens = [t.strip() for t in environ.get("API_TOKENS", "").split(",") if t.strip()]
    path = config_dir / TOKENS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            tokens.append(line)
    for token in tokens:
        if len(token) < 16:
            raise ConfigError("an API token is shorter than 16 characters; use `openssl rand -hex 32`")
    return tokens


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def token_valid(config: SecurityConfig, token: str) -> bool:
    # A set lookup on digests leaks nothing useful: an attacker cannot steer the digest's bytes.
    return bool(token) and digest(token) in config.token_digests


def password_valid(config: SecurityConfig, username: str, password: str) -> bool:
    """Argon2 check; a wrong user name still costs one full verification."""
    name_ok = config.username is not None and secrets.compare_digest(
        username.encode("utf-8"), config.username.encode("utf-8")
    )
    stored = config.password_hash if name_ok and config.password_hash else _DUMMY_HASH
    try:
        _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return name_ok


def normalize_base_path(raw: str) -> str:
    """`comics/` → `/comics`; empty stays empty. Only plain path segments are accepted."""
    text = raw.strip().strip("/")
    if not text:
        return ""
    for part in text.split("/"):
        if part in ("", ".", "..") or not all(c.isalnum() or c in "-_.~" for c in part):
            raise ConfigError(f"BASE_PATH {raw!r} must be plain path segments like /comics")
    return "/" + text


def _proxies(raw: str) -> tuple[str, ...]:
    out = []
    for item in (p.strip() for p in raw.split(",")):
        if not item:
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ConfigError(f"TRUSTED_PROXIES entry {item!r} is not an IP address or network") from None
        out.append(item)
    return tuple(out)


def _number(environ: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        raise ConfigError(f"{name} must be a number from {low:g} to {high:g}, got {raw!r}")
    return value


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class SessionStore:
    """Random session ids → user name and expiry, in memory, thread-safe, oldest evicted first."""

    max_age: int = DEFAULT_SESSION_MAX_AGE
    _sessions: OrderedDict[str, tuple[str, float]] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, username: str) -> str:
        session_id = secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[session_id] = (username, time.monotonic() + self.max_age)
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)
        return session_id

    def user(self, session_id: str | None) -> str | None:
        if not session_id:
            return None
        with self._lock:
            entry = self._sessions.get(session_id)
            if entry is None:
                return None
            if entry[1] < time.monotonic():
                del self._sessions[session_id]
                return None
            return entry[0]

    def drop(self, session_id: str | None) -> None:
        with self._lock:
            self._sessions.pop(session_id or "", None)


@dataclass
class FailureLimiter:
    """At most `allowed` failed sign-ins per client address within `window` seconds."""

    allowed: int = LOGIN_FAILURES_ALLOWED
    window: float = LOGIN_WINDOW_SECONDS
    _failures: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def retry_after(self, address: str) -> float:
        """Seconds until `address` may try again; 0 when it may try now."""
        now = time.monotonic()
        with self._lock:
            times = self._failures.get(address)
            if not times:
                return 0.0
            while times and times[0] <= now - self.window:
                times.popleft()
            return 0.0 if len(times) < self.allowed else times[0] + self.window - now

    def failed(self, address: str) -> None:
        with self._lock:
            times = self._failures.setdefault(address, deque(maxlen=self.allowed))
            times.append(time.monotonic())
            self._failures.move_to_end(address)
            while len(self._failures) > MAX_TRACKED_ADDRESSES:
                self._failures.popitem(last=False)

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)


def main() -> int:
    """Print an argon2 hash of a password typed twice (for AUTH_PASSWORD_HASH)."""
    first = getpass.getpass("Password: ")
    if not first or getpass.getpass("Again: ") != first:
        print("error: the two passwords are empty or differ", file=sys.stderr)
        return 1
    print(_HASHER.hash(first))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
