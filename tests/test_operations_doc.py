"""docs/OPERATIONS.md documents every environment variable and setting the code reads."""

from __future__ import annotations

import json
import re
from pathlib import Path

from comicmaintainer import config

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "OPERATIONS.md"
# Modules that read the environment (src/ and the container entrypoint).
SOURCES = [
    *sorted((ROOT / "src" / "comicmaintainer").rglob("*.py")),
    ROOT / "docker" / "entrypoint.py",
]
# Upper-case string literals that are not settings: HTTP methods, log levels, header values, and
# variables the entrypoint sets for the child process rather than reads.
NOT_SETTINGS = {
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "PATCH",
    "DELETE",
    "OPTIONS",
    "DENY",
    "DEBUG",
    "INFO",
    "WARNING",
    "ERROR",
    "CRITICAL",
    "NOTSET",
    "HOME",
    "USER",
    "LOGNAME",
    "PATH",
}
LITERAL = re.compile(r"""["']([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{4,})["']""")


def environment_names() -> set[str]:
    """Every upper-case name quoted in a module that touches the environment."""
    names: set[str] = set()
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        if re.search(r"environ|envvar=", text):
            names |= set(LITERAL.findall(text))
    return names - NOT_SETTINGS


def documented() -> set[str]:
    return set(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", DOC.read_text(encoding="utf-8")))


def test_the_scan_finds_what_it_should() -> None:
    names = environment_names()
    # A few from each source, so a broken scan cannot pass by finding nothing.
    assert {"WATCHED_DIR", "MAX_WORKERS", "AUTH_PASSWORD_HASH", "GITHUB_TOKEN", "PUID", "WEB_PORT"} <= names
    assert set(config._ENV_KEYS) <= names


def test_every_environment_variable_is_documented() -> None:
    missing = sorted(environment_names() - documented())
    assert not missing, f"add these to docs/OPERATIONS.md: {', '.join(missing)}"


def test_every_editable_setting_is_documented() -> None:
    missing = sorted(set(config.EDITABLE_KEYS) - documented())
    assert not missing, f"add these settings to docs/OPERATIONS.md: {', '.join(missing)}"


def test_documented_defaults_match_the_code() -> None:
    text = DOC.read_text(encoding="utf-8")
    defaults = config.Settings(Path("/w"), None, Path("/c"))
    for key in config.EDITABLE_KEYS:
        value = getattr(defaults, key)
        shown = (
            json.dumps(list(value) if isinstance(value, tuple) else value)
            if isinstance(value, tuple | dict)
            else str(value).lower()
            if isinstance(value, bool)
            else f"{value:g}"
            if isinstance(value, float)
            else value
        )
        row = re.search(rf"^\| `{key}` \| `([^`]*)`", text, re.M)
        assert row, key
        assert row.group(1) == str(shown), (key, row.group(1), shown)
