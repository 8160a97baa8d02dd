"""Small text helpers shared by the source clients."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

_TAG = re.compile(r"<[^>]+>")
_BREAK = re.compile(r"<br\s*/?>|</p>", re.IGNORECASE)


def clean_html(text: str | None) -> str | None:
    """Plain text from a source's HTML description (ComicInfo's Summary is plain text)."""
    if not text:
        return None
    plain = html.unescape(_TAG.sub("", _BREAK.sub("\n", text)))
    lines = [" ".join(line.split()) for line in plain.splitlines()]
    result = "\n".join(line for line in lines if line).strip()
    return result or None


def names(values: Iterable[str | None]) -> tuple[str, ...]:
    """Distinct, stripped, in the order given."""
    return tuple(dict.fromkeys(v.strip() for v in values if v and v.strip()))


def one_of(*values: str | None) -> str | None:
    return next((v for v in values if v), None)


def year_of(value: object) -> int | None:
    """A four-digit year from ``2011``, ``"2011"`` or ``"2011-03-01"``; None otherwise."""
    found = re.match(r"\s*(\d{4})", str(value)) if value is not None else None
    return int(found.group(1)) if found else None


def numeric_id(text: str, page: re.Pattern[str]) -> str | None:
    """A source's numeric id from a pasted page address (``page``'s first group) or the bare number."""
    text = text.strip()
    found = page.search(text)
    return found.group(1) if found else text if text.isdigit() else None
