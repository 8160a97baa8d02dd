"""Naming rules: parse a file name, render a new one from a template. Pure: no I/O.

Parsing lives in ``parse`` and issue numbers in ``issues``; both are re-exported here.
Templates: one per kind of book (chapter, volume, range, part, special); see ``templates``.

Safe file names (``safe_filename_part``), valid on Linux, macOS, Windows and SMB shares:

    =========================  ===========================================
    character                  becomes
    =========================  ===========================================
    ``:``                      ``_`` (``series_from_folder`` reads it back)
    ``/`` ``\\`` ``|``          ``-``
    ``?`` ``*``                removed
    ``"``                      ``'``
    ``<`` ``>``                ``(`` ``)``
    control characters         a space
    =========================  ===========================================

    Runs of white space become one space; leading spaces and trailing spaces and dots are
    removed; a Windows device name (``CON``, ``NUL``, ``COM1`` …) gets ``_`` appended. A file name
    never starts with a dot (``.hack`` → ``hack``): that would hide the file, and the library's
    scanner and watcher skip hidden files.
    A rendered file name is at most 255 bytes in UTF-8: the series is shortened first (then the
    title, then the publisher), at a character boundary; the issue and the extension never are.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping

from comicmaintainer.domain.issues import clean_issue, pad_issue
from comicmaintainer.domain.parse import ParsedName, parse_name, series_from_folder
from comicmaintainer.domain.templates import (
    DEFAULT_TEMPLATE,
    PLACEHOLDERS,
    NamingRules,
    TemplateError,
    validate_template,
)

__all__ = [
    "DEFAULT_TEMPLATE", "MAX_NAME_BYTES", "PLACEHOLDERS", "NamingRules", "ParsedName",
    "TemplateError", "clean_issue", "pad_issue", "parse_name", "render_filename", "render_text",
    "safe_filename_part", "series_from_folder", "validate_template",
]  # fmt: skip

MAX_NAME_BYTES = 255


# ---------------------------------------------------------------------------------------------
# Safe names

_REPLACEMENTS = str.maketrans(
    {":": "_", "/": "-", "\\": "-", "|": "-", "?": "", "*": "", '"': "'", "<": "(", ">": ")"}
    | {chr(c): " " for c in [*range(0x20), 0x7F]}
)
_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {
    f"{kind}{n}" for kind in ("COM", "LPT") for n in [*"0123456789", "¹", "²", "³"]
}


def safe_filename_part(text: str) -> str:
    """``text`` made safe as (part of) a file name everywhere; see the table in the docstring."""
    text = re.sub(r"\s+", " ", text.translate(_REPLACEMENTS)).lstrip(" ").rstrip(" .")
    stem, dot, tail = text.partition(".")
    if stem.rstrip(" ").upper() in _RESERVED:
        text = f"{stem.rstrip(' ')}_{dot}{tail}"
    return text


# ---------------------------------------------------------------------------------------------
# Rendering

_EMPTY = "\x00"  # stands for an empty placeholder while the template's debris is swept
_TOKEN = re.compile("\x01(\\w+)\x02")  # stands for a filled placeholder; its text is never swept
_SEPARATORS = "-–—~,;"


def _skeleton(template: str, values: Mapping[str, str | None]) -> str:
    out: list[str] = []
    for literal, name, _, _ in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            out.append(f"\x01{name}\x02" if values.get(name) else _EMPTY)
    return "".join(out)


def _sweep(skeleton: str) -> str:
    """Remove what empty placeholders leave behind: glued prefixes, empty brackets, separators."""
    s = re.sub(r"[^\s\x00\x02()\[\]{}]*\x00", "", skeleton)  # "v{volume}" with no volume
    previous = None
    while previous != s:  # nested brackets empty out from the inside
        previous = s
        s = re.sub(r"\(\s*\)|\[\s*\]|\{\s*\}", "", s)
    s = re.sub(r"([(\[{])\s+", r"\1", s)
    s = re.sub(r"\s+([)\]}])", r"\1", s)
    sep = re.escape(_SEPARATORS)
    s = re.sub(rf"\s+([{sep}])(?:\s+[{sep}])+(?=\s)", r" \1", s)
    s = re.sub(rf"^[\s{sep}]+|[\s{sep}]+$", "", s)
    return re.sub(r"\s{2,}", " ", s)


def _render_stem(template: str, values: Mapping[str, str | None]) -> str:
    swept = _sweep(_skeleton(template, values))
    return safe_filename_part(_TOKEN.sub(lambda m: values[m[1]] or "", swept))


def _cut_bytes(text: str, excess: int) -> str:
    """``text`` shortened by at least ``excess`` UTF-8 bytes, cut between characters."""
    cut = len(text)
    while cut > 0 and excess > 0:
        cut -= 1
        excess -= len(text[cut].encode("utf-8"))
    return text[:cut].rstrip(" .-_,")


def _excess(name: str) -> int:
    return len(name.encode("utf-8")) - MAX_NAME_BYTES


def _fit(template: str, values: dict[str, str | None], ext: str) -> str:
    """Render, shortening fields until the name fits: the series first, then the title, then the
    publisher. A field is only emptied when no field can take the whole cut and keep some text."""
    name = _render_stem(template, values) + ext
    for keep_some in (True, False):
        for key in ("series", "title", "chapter_title", "publisher"):
            while _excess(name) > 0 and (value := values[key]):
                shorter = _cut_bytes(value, _excess(name))
                if keep_some and not shorter:
                    break
                values[key] = shorter or None
                name = _render_stem(template, values) + ext
    if _excess(name) > 0:
        raise TemplateError("filename format gives a name longer than 255 bytes even with fields shortened")
    return name


def _padded(value: str | None, width: int) -> str | None:
    cleaned = clean_issue(value or "")
    return safe_filename_part(pad_issue(cleaned, width)) if cleaned else None


def _field_values(rules: NamingRules, fields: Mapping[str, str | None], kind: str) -> dict[str, str | None]:
    issue = clean_issue(fields.get("issue") or "")
    if issue is None and kind in ("chapter", "range", "part"):
        raise ValueError("no issue number to put in the file name")
    values = {key: safe_filename_part(fields.get(key) or "") or None for key in PLACEHOLDERS}
    values["issue"] = _padded(issue, rules.padding)
    values["issue_no_pad"] = safe_filename_part(issue or "") or None
    values["issue_end"] = _padded(fields.get("issue_end"), rules.padding)
    values["volume"] = _padded(fields.get("volume"), rules.volume_padding)
    return values


def render_filename(
    rules: NamingRules, fields: Mapping[str, str | None], extension: str, kind: str = "chapter"
) -> str:
    """The file name for ``fields`` under the template of ``kind``: safe, tidy, at most 255 bytes."""
    template = rules.template_for(kind)
    validate_template(template, kind)
    values = _field_values(rules, fields, kind)
    ext = extension.strip().lower()
    ext = f".{ext}" if ext and not ext.startswith(".") else ext
    name = _fit(template, values, ext)
    stem = name[: len(name) - len(ext)] if ext else name
    if stem.startswith("."):
        stem = stem.lstrip(". ") or "_"  # a hidden file would drop out of the library
    return stem + ext


def render_text(template: str, values: Mapping[str, str | None]) -> str:
    """``template`` filled with ``values`` for a tag (no file name rules), debris of empty fields
    swept away as in a file name."""
    swept = _sweep(_skeleton(template, values))
    return re.sub(r"\s+", " ", _TOKEN.sub(lambda m: values[m[1]] or "", swept)).strip()
