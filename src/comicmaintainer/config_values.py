"""How a setting's raw value (environment text or a JSON value) is checked and converted.

``KeySpec`` says what a setting may hold; ``coerce`` turns a raw value into it or raises a
``ConfigError`` whose message is one plain line naming the key and the value.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_TRUE_WORDS = frozenset({"true", "1", "yes", "on"})


_FALSE_WORDS = frozenset({"false", "0", "no", "off"})


class ConfigError(Exception):
    """A setting that cannot be used; ``str()`` is one plain line."""


@dataclass(frozen=True)
class KeySpec:
    """The type of one typed setting and, for numbers, its inclusive bounds.

    ``live``: a change made at run time (``PUT /api/settings``) takes effect at once. A setting
    that only counts from the next start says ``live=False``; the settings answer then lists it in
    ``restart_required`` until the service is restarted, and the page says so.
    """

    kind: type
    minimum: float | None = None
    maximum: float | None = None
    # For list and dict settings: normalizes the value or raises ValueError("must ...").
    check: Callable[[object], Any] | None = None
    live: bool = True

    def describe(self) -> str:
        names = {bool: "true or false", int: "an integer", float: "a number", str: "text", list: "a list"}
        names[dict] = "an object"
        text = names[self.kind]
        if self.minimum is not None and self.maximum is not None:
            text += f" from {_plain_number(self.minimum)} to {_plain_number(self.maximum)}"
        return text


def coerce(name: str, spec: KeySpec, raw: object) -> Any:
    """Turn ``raw`` (env text or a JSON value) into ``spec.kind`` or raise a one-line ConfigError."""
    if spec.check is not None:
        if not isinstance(raw, list | tuple | dict):
            raise ConfigError(f"{name} must be {spec.describe()}, got {show(raw)}")
        try:
            return spec.check(raw)
        except ValueError as exc:
            raise ConfigError(f"{name} {exc}") from None
    value = _convert(spec.kind, raw)
    if value is None or not _in_bounds(spec, value):
        raise ConfigError(f"{name} must be {spec.describe()}, got {show(raw)}")
    return value


def _convert(kind: type, raw: object) -> Any:
    """The converted value, or None when ``raw`` cannot be read as ``kind``."""
    if kind is str:
        return raw if isinstance(raw, str) else None
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        word = raw.strip().lower() if isinstance(raw, str) else None
        return True if word in _TRUE_WORDS else False if word in _FALSE_WORDS else None
    if isinstance(raw, bool):  # bool is an int subclass; `true` is not a number here
        return None
    if kind is int:
        if isinstance(raw, int):
            return raw
        return _parse_or_none(int, raw)
    number = raw if isinstance(raw, int | float) else _parse_or_none(float, raw)
    return float(number) if number is not None and math.isfinite(number) else None


def _parse_or_none(kind: type[int] | type[float], raw: object) -> int | float | None:
    """Parse text as ``kind``; anything that is not text, or not that kind of number, gives None."""
    if not isinstance(raw, str):
        return None
    try:
        return kind(raw.strip())
    except ValueError:
        return None


def _in_bounds(spec: KeySpec, value: Any) -> bool:
    if spec.minimum is not None and value < spec.minimum:
        return False
    return not (spec.maximum is not None and value > spec.maximum)


def show(value: object) -> str:
    """A short, single-line rendering of a bad value for an error message."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _plain_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
