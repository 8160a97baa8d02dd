"""Naming rules: parse a file name, render a new one from a template. Pure: no I/O.

Parsing
    ``parse_name`` first applies a few manga rules (chapter markers such as ``Chapter 5``,
    ``Ch.71.4``, ``ch-12``, ``c045``, ``#007``; volume markers ``v2``, ``Vol. 3``, ``Volume 3``),
    after dropping every bracketed group so that a year ``(2021)``, a scan group ``[Group]`` or a
    page count ``(24 pages)`` can never be read as the issue. Names without a chapter marker go
    to comicapi's filename parser (``COMPLICATED`` first, then ``ORIGINAL`` as a fallback: the
    first one reads titles and ``½`` better, the second reads ``1a`` better).

    Underscores: a name without any space uses ``_`` (and ``.`` between words) as word
    separators. A name that has spaces keeps its underscores, and the series reads them as ``:``
    the same way a folder name does, so the names this module renders parse back to their series.

Issue numbers
    ``clean_issue`` removes leading zeros of the integer part and trailing zeros of the decimal
    part (``"007"`` -> ``"7"``, ``"71.40"`` -> ``"71.4"``). ``pad_issue`` pads only the integer
    part with zeros; a minus sign counts in the width (``-1`` at width 4 is ``-001``); issues
    without a leading digit (``½``) are never padded.

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
from dataclasses import dataclass

from comicapi.utils import Parser, parse_filename

PLACEHOLDERS = ("series", "issue", "issue_no_pad", "title", "volume", "year", "publisher")
DEFAULT_TEMPLATE = "{series} - Chapter {issue}"
MAX_NAME_BYTES = 255


class TemplateError(ValueError):
    """A file name template that cannot be used; the message says why in one line."""


def validate_template(template: str) -> None:
    """Refuse templates with unknown placeholders, format specs or broken braces."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(f"filename format {template!r} is malformed: {exc}") from None
    names = [name for _, name, _, _ in parts if name is not None]
    unknown = sorted({n for n in names if n not in PLACEHOLDERS})
    if unknown:
        allowed = " ".join("{" + p + "}" for p in PLACEHOLDERS)
        raise TemplateError(f"unknown placeholder {{{unknown[0]}}} in filename format; use {allowed}")
    if not any(n in ("issue", "issue_no_pad") for n in names):
        raise TemplateError("filename format must contain {issue} or {issue_no_pad}")
    if any(spec or conv for _, name, spec, conv in parts if name is not None):
        raise TemplateError("filename format placeholders take no format spec or conversion")


@dataclass(frozen=True)
class NamingRules:
    template: str = DEFAULT_TEMPLATE
    padding: int = 4


@dataclass(frozen=True)
class ParsedName:
    """What a file name says about its comic; a field is None when the name does not say."""

    series: str | None = None
    issue: str | None = None
    volume: str | None = None
    year: str | None = None
    title: str | None = None


# ---------------------------------------------------------------------------------------------
# Issue numbers

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


# ---------------------------------------------------------------------------------------------
# Parsing

_B = r"(?<![^\W_])"  # not glued to a letter or digit before
_E = r"(?![^\W_])"  # not glued to a letter or digit after
_NUMBER = r"\d+(?:\.\d+)?"
_EXTENSION = re.compile(r"\.(?:cbz|cbr|cb7|cbt|zip|rar|7z|tar|pdf|epub)$", re.I)
_YEAR = re.compile(r"[(\[]\s*((?:19|20)\d\d)\s*[)\]]")
_BRACKETED = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|\{[^{}]*\}")
_VOLUME = re.compile(rf"{_B}(?:volume|vol|v)\.?[\s._-]*(\d+){_E}", re.I)
_CHAPTER = re.compile(rf"{_B}(?:(?:chapter|chap|ch)\.?[\s._-]*#?|c(?=\d)|#\s*)(-?{_NUMBER}[a-z]?){_E}", re.I)
_LEADING_NUMBER = re.compile(rf"^[\s#-]*({_NUMBER}[a-z]?){_E}", re.I)
_TITLE_AFTER = re.compile(r"^\s*[-–—:]\s*(.*\S)\s*$")
_WORD_DOT = re.compile(r"(?<!\d)\.|\.(?!\d)")
_EDGE_SEPARATORS = " -–—_,:;#"


def series_from_folder(folder: str) -> str:
    """A folder name read as a series: ``_`` stands for ``:`` (``Re_Zero`` -> ``Re:Zero``)."""
    return folder.replace("_", ":").strip()


def _tidy_series(text: str) -> str | None:
    return re.sub(r"\s+", " ", text).strip(_EDGE_SEPARATORS) or None


def _prepare(filename: str) -> str:
    """The bare name: no folder, no extension, word separators turned into spaces."""
    name = _EXTENSION.sub("", filename.replace("\\", "/").rsplit("/", 1)[-1])
    if " " in name:
        return name.replace("_", ":")  # how safe_filename_part wrote a ":"
    return _WORD_DOT.sub(" ", name.replace("_", " "))


def _strip_folder_series(name: str, folder: str | None) -> tuple[str, str | None]:
    """Remove the folder's series from the start of ``name``; return the rest and that series."""
    words = [w for w in re.split(r"[\W_]+", folder or "") if w]
    if not words:
        return name, None
    prefix = re.compile(r"^[\W_]*" + r"[\W_]+".join(map(re.escape, words)) + _E, re.I)
    m = prefix.match(name)
    if m is None:
        return name, None
    return name[m.end() :], series_from_folder(folder or "")


def _comicapi_fields(text: str) -> tuple[str, str, str, str]:
    """(series, issue, year, title) from comicapi's parsers, first one that finds an issue."""
    found = ("", "", "", "")
    if not text.strip():
        return found  # comicapi would read the extension as a series
    for parser in (Parser.COMPLICATED, Parser.ORIGINAL):
        info = parse_filename(text.strip() + ".cbz", parser)
        found = (info["series"], info["issue"], info["year"], info["title"])
        if found[1]:
            break
    return found


def _parse_markers(rest: str, known_series: str | None) -> ParsedName | None:
    """Manga rules: a chapter marker, or a bare number after the folder's series."""
    volume = _VOLUME.search(rest)
    chapter = _CHAPTER.search(rest)
    if chapter is None and known_series is not None:
        without_volume = _VOLUME.sub(" ", rest)
        chapter = _LEADING_NUMBER.search(without_volume)
        rest = without_volume if chapter else rest
    if chapter is None:
        return None
    series_end = min(chapter.start(), volume.start()) if volume else chapter.start()
    after = _TITLE_AFTER.match(rest[chapter.end() :])
    return ParsedName(
        series=known_series or _tidy_series(rest[:series_end]),
        issue=chapter[1],
        volume=volume[1] if volume else None,
        title=after[1] if after else None,
    )


def _parse_general(rest: str, known_series: str | None) -> ParsedName:
    """No chapter marker: let comicapi read it, with any volume marker taken out first."""
    volume = _VOLUME.search(rest)
    series, issue, year, title = _comicapi_fields(_VOLUME.sub(" ", rest))
    if series.strip() == issue.strip():
        series = ""  # comicapi calls a lone number both the series and the issue
    return ParsedName(
        series=known_series or _tidy_series(series),
        issue=issue or None,
        volume=volume[1] if volume else None,
        year=year or None,
        title=title.strip() or None,
    )


def parse_name(filename: str, folder: str | None = None) -> ParsedName:
    """Series, issue, volume, year and title as far as a file name tells them.

    ``folder`` is the name of the folder holding the file; when the file name starts with the
    folder's series, that part is taken as the series and the rest is parsed on its own.
    """
    name = _prepare(filename)
    year = _YEAR.search(name)
    name = _BRACKETED.sub(" ", name)
    rest, known_series = _strip_folder_series(name, folder)
    parsed = _parse_markers(rest, known_series) or _parse_general(rest, known_series)
    series = parsed.series or (series_from_folder(folder) if folder else None) or None
    return ParsedName(
        series=series,
        issue=clean_issue(parsed.issue or ""),
        volume=clean_issue(parsed.volume or ""),
        year=year[1] if year else parsed.year,
        title=parsed.title,
    )


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
        for key in ("series", "title", "publisher"):
            while _excess(name) > 0 and (value := values[key]):
                shorter = _cut_bytes(value, _excess(name))
                if keep_some and not shorter:
                    break
                values[key] = shorter or None
                name = _render_stem(template, values) + ext
    if _excess(name) > 0:
        raise TemplateError("filename format gives a name longer than 255 bytes even with fields shortened")
    return name


def _field_values(rules: NamingRules, fields: Mapping[str, str | None]) -> dict[str, str | None]:
    issue = clean_issue(fields.get("issue") or "")
    if issue is None:
        raise ValueError("no issue number to put in the file name")
    values = {
        key: safe_filename_part(fields.get(key) or "") or None
        for key in PLACEHOLDERS
        if key not in ("issue", "issue_no_pad")
    }
    values["issue"] = safe_filename_part(pad_issue(issue, rules.padding))
    values["issue_no_pad"] = safe_filename_part(issue)
    return values


def render_filename(rules: NamingRules, fields: Mapping[str, str | None], extension: str) -> str:
    """The file name for ``fields`` under ``rules``: safe, tidy, at most 255 bytes in UTF-8."""
    validate_template(rules.template)
    values = _field_values(rules, fields)
    ext = extension.strip().lower()
    ext = f".{ext}" if ext and not ext.startswith(".") else ext
    name = _fit(rules.template, values, ext)
    stem = name[: len(name) - len(ext)] if ext else name
    if stem.startswith("."):
        stem = stem.lstrip(". ") or "_"  # a hidden file would drop out of the library
    return stem + ext
