"""Issue numbers: cleaned for tags, padded for file names. Pure: no I/O.

``clean_issue`` removes leading zeros of the integer part and trailing zeros of the decimal part
(``"007"`` -> ``"7"``, ``"71.40"`` -> ``"71.4"``). ``pad_issue`` pads only the integer part with
zeros; a minus sign counts in the width (``-1`` at width 4 is ``-001``); issues without a leading
digit (``½``) are never padded. ``issue_key`` orders issues the way a reader counts them.
"""

from __future__ import annotations

import re

# sign, integer digits, decimal digits, anything after (a letter suffix, ".MU", "½" …)
_ISSUE_PARTS = re.compile(r"(?P<sign>-?)(?P<int>[0-9]*)(?:\.(?P<dec>[0-9]+))?(?P<rest>.*)", re.S)


def clean_issue(text: str) -> str | None:
    """The issue number without leading zeros or trailing decimal zeros; None when empty."""
    text = text.strip().lstrip("#").strip()
    if not text:
        return None
    m = _ISSUE_PARTS.fullmatch(text)
    assert m is not None  # every part of the pattern may be empty, so it always matches
    sign, digits, dec, rest = m["sign"], m["int"], m["dec"], m["rest"]
    if not digits and dec is None:
        return text  # "½", "X", "-½": nothing numeric to tidy
    digits = digits.lstrip("0") or "0"
    dec = (dec or "").rstrip("0")
    if rest == ".":
        rest = ""  # "5." is just 5
    if digits == "0" and not dec and not rest:
        sign = ""  # "-0" is 0
    return f"{sign}{digits}{'.' + dec if dec else ''}{rest}"


def pad_issue(issue: str, width: int) -> str:
    """Pad the integer part of ``issue`` with zeros to ``width`` characters (sign included)."""
    m = _ISSUE_PARTS.fullmatch(issue)
    if width <= 0 or m is None or not m["int"]:
        return issue
    sign = m["sign"]
    return sign + m["int"].zfill(width - len(sign)) + issue[len(sign) + len(m["int"]) :]


def issue_key(issue: str) -> tuple[float, str]:
    """A sort key: the numeric value first (``"9"`` before ``"10"``), the text as a tie-break."""
    m = _ISSUE_PARTS.fullmatch(issue)
    if m is None or not (m["int"] or m["dec"]):
        return (float("inf"), issue)
    value = float(f"{m['int'] or '0'}.{m['dec'] or '0'}")
    return (-value if m["sign"] else value, m["rest"])
