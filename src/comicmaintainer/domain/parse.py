"""Read a file name: series, kind of book, its numbers and its title. Pure: no I/O.

The manga and downloader rules come first, after every bracketed group is dropped so that a year
``(2021)``, a scan group ``[Group]``, an index ``[0001]`` or a page count ``(24 pages)`` can never be
read as a number:

- a chapter marker: ``Chapter 5``, ``Ch.71.4``, ``ch-12``, ``c045``, ``#007``, ``Issue 001``, or a
  named chapter (``Mission 92``, ``Episode 3``, whose words are also its title);
- right after the chapter: a range end (``c001-010``, ``Ch.1-8``), a part (``Part 2``, ``Pt.2``),
  a special word (``Ch.10 Omake``), then a title after a dash (``Ch.97 - Coffee Break``);
- a volume marker: ``v2``, ``Vol. 3``, ``Volume 3``; a volume with no chapter is a whole volume;
- a special word without a chapter: ``Extra``, ``Omake``, ``Prologue``, ``Epilogue``, ``Oneshot``,
  ``Side Story``, ``Special``, ``Bonus``, with an optional number (``Berserk Extra 1``).

Downloader layouts: ``Group_Vol.9 Ch.97 - Title`` (Mihon's scanlator prefix, dropped), ``Series -.-
120`` (read as ``Series - 120``), ``[0001]_Chapter_1`` (FMD2, mangal: the index is dropped).

Names without any of these go to comicapi's filename parser (``COMPLICATED`` first, then ``ORIGINAL``
for a number with a letter, such as ``1a``, which only that one reads).

Underscores: a name without any space uses ``_`` (and ``.`` between words) as word separators. A
name that has spaces keeps its underscores, and the series reads them as ``:`` the same way a folder
name does, so the names this program renders parse back to their series.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from comicapi.utils import Parser, parse_filename

from comicmaintainer.domain.issues import clean_issue, issue_key

Kind = str  # "chapter" | "volume" | "range" | "part" | "special"
KINDS = ("chapter", "volume", "range", "part", "special")


@dataclass(frozen=True)
class ParsedName:
    """What a file name says about its book; a field is None when the name does not say.

    ``title`` is the chapter's own title (``Coffee Break``); ``special`` the special's word and
    number (``Extra 1``); ``kind`` is None when the name gives no number and no special word.
    """

    series: str | None = None
    issue: str | None = None
    volume: str | None = None
    year: str | None = None
    title: str | None = None
    kind: Kind | None = None
    issue_end: str | None = None
    part: str | None = None
    special: str | None = None


_B = r"(?<![^\W_])"  # not glued to a letter or digit before
_E = r"(?![^\W_])"  # not glued to a letter or digit after
_NUMBER = r"\d+(?:\.\d+)?"
_EXTENSION = re.compile(r"\.(?:cbz|cbr|cb7|cbt|zip|rar|7z|tar|pdf|epub)$", re.I)
_YEAR = re.compile(r"[(\[]\s*((?:19|20)\d\d)\s*[)\]]")
_BRACKETED = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|\{[^{}]*\}")
_BRACKETED_ISSUE = re.compile(r"\(\s*#\s*(\d+(?:\.\d+)?)\s*\)")
_VOLUME = re.compile(rf"{_B}(?:volume|vol|v)\.?[\s._-]*(\d+(?:\.\d+)?){_E}", re.I)
_NAMED_CHAPTER_WORDS = r"mission|episode|lesson|act|round|stage|night|quest|level|step"
_CHAPTER = re.compile(
    rf"{_B}(?:(?P<word>{_NAMED_CHAPTER_WORDS})\s*|(?P<hash>#)\s*"
    r"|(?:chapters|chapter|chap|ch|issue|ep)\.?[\s._-]*#?|c(?=\d))"
    rf"(?P<num>-?{_NUMBER}(?:[a-z]|\.[A-Z]{{2,4}})?){_E}",
    re.I,
)
_LEADING_NUMBER = re.compile(rf"^[\s#-]*({_NUMBER}[a-z]?){_E}", re.I)
_RANGE_END = re.compile(rf"^\s*[-–~]\s*(?:(?:chapter|ch|c)\.?\s*)?({_NUMBER}){_E}(?!\.\d)", re.I)
_PART = re.compile(rf"^\s*[-–,]?\s*(?:part|pt)\.?\s*(\d+){_E}", re.I)
_SPECIAL_WORDS = {
    "extra": "Extra", "extras": "Extra", "omake": "Omake", "prologue": "Prologue",
    "epilogue": "Epilogue", "oneshot": "Oneshot", "one-shot": "Oneshot", "one shot": "Oneshot",
    "side story": "Side Story", "sidestory": "Side Story", "special": "Special", "bonus": "Bonus",
}  # fmt: skip
_SPECIAL = re.compile(
    rf"{_B}(?P<word>one[\s-]?shot|side\s?story|extras?|omake|prologue|epilogue|special|bonus){_E}"
    rf"(?:[\s._#-]*(?P<num>\d+(?:\.\d+)?){_E})?",
    re.I,
)
_RELEASE_NOTES = re.compile(r"(?:\s*(?:c2c|noads|digital|webrip|hd|repaired|f\d|of \d+))+", re.I)
_TITLE_AFTER = re.compile(r"^\s*[-–—:]\s*(.*\S)\s*$")
_WORD_DOT = re.compile(r"(?<!\d)\.|\.(?!\d)")
_GROUP_PREFIX = re.compile(r"^[^_]+_(?=(?:vol|volume|ch|chapter|episode|#)[\s.\d])", re.I)
_EDGE_SEPARATORS = " -–—_,:;#"


def series_from_folder(folder: str) -> str:
    """A folder name read as a series: ``_`` stands for ``:`` (``Re_Zero`` -> ``Re:Zero``)."""
    return folder.replace("_", ":").strip()


def _tidy_series(text: str) -> str | None:
    text = re.sub(r"\s+", " ", text).strip(_EDGE_SEPARATORS)
    if re.fullmatch(r"[\d\s.]*", text):
        return None  # a downloader's index ("0001 - Chapter 1") is no series
    return text


def _prepare(filename: str) -> str:
    """The bare name: no folder, no extension, no downloader debris, word separators as spaces."""
    name = _EXTENSION.sub("", filename.replace("\\", "/").rsplit("/", 1)[-1])
    name = name.replace(" -.- ", " - ")
    if " " in name:
        name = _GROUP_PREFIX.sub("", name)  # Mihon's "Scanlator_Vol.1 Ch.2 - Title"
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


def _special_label(m: re.Match[str]) -> str:
    word = _SPECIAL_WORDS[re.sub(r"\s+", " ", m["word"].lower()).replace("one-shot", "oneshot")]
    number = clean_issue(m["num"] or "")
    return f"{word} {number}" if number else word


def _after_chapter(tail: str) -> dict[str, str | None]:
    """Range end, part, special word and title in the text right after a chapter number."""
    found: dict[str, str | None] = {}
    for key, pattern in (("issue_end", _RANGE_END), ("part", _PART)):
        m = pattern.match(tail)
        if m:
            found[key], tail = m[1], tail[m.end() :]
    special = _SPECIAL.match(tail.lstrip(" "))  # after a dash, it is the chapter's title
    if special:
        found["special"] = _special_label(special)
        tail = tail.lstrip(" ")[special.end() :]
    title = _TITLE_AFTER.match(tail)
    found["title"] = title[1] if title else None
    return found


def _bare_title(tail: str) -> str | None:
    """Words right after ``#12`` with no dash (``Karl May #001 Old Shatterhand``), unless they are
    a release's notes (``c2c``, ``noads``)."""
    text = re.sub(r"\s+", " ", tail).strip(_EDGE_SEPARATORS)
    if not text or _RELEASE_NOTES.fullmatch(text):
        return None
    return text


def _chapter_kind(issue: str, found: dict[str, str | None]) -> Kind:
    if found.get("special"):
        return "special"
    end = found.get("issue_end")
    if end is not None and issue_key(clean_issue(end) or "") > issue_key(clean_issue(issue) or ""):
        return "range"
    found["issue_end"] = None  # "Ch.12 - 3" is no range
    return "part" if found.get("part") else "chapter"


def _find_chapter(rest: str, known_series: str | None) -> tuple[str, str, str | None, str] | None:
    """(text before, chapter number, its named word, text after) of the chapter, if any.

    A marker (``Ch.5``) anywhere, else a bare number right after a volume marker (``v2 012``) or
    right after the folder's series.
    """
    chapter = _CHAPTER.search(rest)
    if chapter is not None:
        word = chapter["word"] or chapter["hash"]
        return rest[: chapter.start()], chapter["num"], word, rest[chapter.end() :]
    volume = _VOLUME.search(rest)
    if volume is not None:
        before, after = rest[: volume.start()], rest[volume.end() :]
    elif known_series is not None:
        before, after = "", rest
    else:
        return None
    bare = _LEADING_NUMBER.match(after)
    if bare is None:
        return None
    return before, bare[1], None, after[bare.end() :]


def _parse_chapter(rest: str, known_series: str | None) -> ParsedName | None:
    """A chapter, and what follows it: a range end, a part, a special word, a title."""
    found_chapter = _find_chapter(rest, known_series)
    if found_chapter is None:
        return None
    before, issue, word, after = found_chapter
    volume = _VOLUME.search(rest)
    found = _after_chapter(after)
    if word == "#" and not found.get("title") and not found.get("part"):
        found["title"] = _bare_title(after)
    elif word and word != "#" and not found.get("title"):
        found["title"] = f"{word.capitalize()} {clean_issue(issue)}"
    series_text = before[: volume.start()] if volume and volume.start() < len(before) else before
    return ParsedName(
        series=known_series or _tidy_series(series_text),
        issue=issue,
        volume=volume[1] if volume else None,
        kind=_chapter_kind(issue, found),
        **found,
    )


def _parse_volume_or_special(rest: str, known_series: str | None) -> ParsedName | None:
    """No chapter: a special word, or a volume marker alone (a whole volume), and a title after."""
    volume = _VOLUME.search(rest)
    special = _SPECIAL.search(rest)
    found = [m for m in (volume, special) if m is not None]
    if not found:
        return None
    first = min(found, key=lambda m: m.start())
    last = max(found, key=lambda m: m.end())
    title = _TITLE_AFTER.match(rest[last.end() :])
    return ParsedName(
        series=known_series or _tidy_series(rest[: first.start()]),
        volume=volume[1] if volume else None,
        title=title[1] if title else None,
        kind="special" if special else "volume",
        special=_special_label(special) if special else None,
    )


def _comicapi_fields(text: str) -> tuple[str, str, str, str]:
    """(series, issue, year, title) from comicapi's parsers.

    ``ORIGINAL`` is asked only when ``COMPLICATED`` finds nothing, and only its number with a letter
    (``1a``) is taken: its other finds there are a year or a number of the series (``IG-88``).
    """
    if not re.search(r"[^\W_]", text):
        # comicapi would read the extension as a series, and ORIGINAL fails on " - " (IndexError)
        return ("", "", "", "")
    info = parse_filename(text.strip() + ".cbz", Parser.COMPLICATED)
    found = (info["series"], info["issue"], info["year"], info["title"])
    if not found[1]:
        try:
            original = parse_filename(text.strip() + ".cbz", Parser.ORIGINAL)
        except IndexError:  # ORIGINAL fails on some word lists ("of 1"): it found nothing
            return found
        lettered = re.fullmatch(r"[a-z]?\d+[a-z]?", original["issue"] or "", re.I)
        if lettered and not original["issue"].isdigit():
            found = (original["series"], original["issue"], original["year"], original["title"])
    return found


def _parse_general(rest: str, known_series: str | None) -> ParsedName:
    """Nothing of ours found: let comicapi read it."""
    series, issue, year, title = _comicapi_fields(rest)
    if series.strip() == issue.strip():
        series = ""  # comicapi calls a lone number both the series and the issue
    return ParsedName(
        series=known_series or _tidy_series(series),
        issue=issue or None,
        year=year or None,
        title=title.strip() or None,
        kind="chapter" if issue else None,
    )


def parse_name(filename: str, folder: str | None = None) -> ParsedName:
    """What a file name tells of its book.

    ``folder`` is the name of the folder holding the file; when the file name starts with the
    folder's series, that part is taken as the series and the rest is parsed on its own.
    """
    name = _prepare(filename)
    year = _YEAR.search(name)
    bracketed_issue = _BRACKETED_ISSUE.search(name)
    name = _BRACKETED.sub(" ", name)
    rest, known_series = _strip_folder_series(name, folder)
    parsed = (
        _parse_chapter(rest, known_series)
        or _parse_volume_or_special(rest, known_series)
        or _parse_general(rest, known_series)
    )
    if parsed.kind is None and bracketed_issue:  # "X-Men, 2021-08-04 (#02)"
        parsed = ParsedName(series=parsed.series, issue=bracketed_issue[1], kind="chapter")
    series = parsed.series or (series_from_folder(folder) if folder else None) or None
    return ParsedName(
        series=series,
        issue=clean_issue(parsed.issue or ""),
        volume=clean_issue(parsed.volume or ""),
        year=year[1] if year else parsed.year,
        title=parsed.title,
        kind=parsed.kind,
        issue_end=clean_issue(parsed.issue_end or ""),
        part=clean_issue(parsed.part or ""),
        special=parsed.special,
    )
