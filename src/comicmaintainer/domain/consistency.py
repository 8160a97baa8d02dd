"""Series a reader server would split: what one folder's tags disagree on. Pure: no I/O.

Komga makes one series per folder and takes its Series from whichever book it reads; Kavita groups
by the parsed Series (and LocalizedSeries) and files loose chapters apart from volumes. So, inside
one folder, books that disagree on Series, LanguageISO or Manga, or of which some have a Volume and
some have none, show up split or renamed there. Chapter numbers that are missing, not numbers,
repeated or with holes in the run make a series read out of order or look incomplete.

Different Volume values are not a finding: chapters of a manga sit in many volumes. Numbers repeat
and leave gaps per volume, because many series start their numbering again with each volume.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import PurePosixPath
from typing import Any

NO_VALUE = "(none)"
MAX_LISTED = 50  # missing numbers listed in one gap finding; the rest are counted
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
# The ComicInfo fields whose disagreement inside a folder splits a series, with the finding's kind.
_MIXED = (("Series", "mixed_series"), ("LanguageISO", "mixed_language"), ("Manga", "mixed_manga"))


@dataclass(frozen=True)
class BookTags:
    """The ComicInfo fields the check looks at, as text (None when absent) for one library file."""

    path: str
    series: str | None = None
    number: str | None = None
    volume: str | None = None
    language: str | None = None
    manga: str | None = None

    @property
    def folder(self) -> str:
        parent = str(PurePosixPath(self.path).parent)
        return "" if parent == "." else parent

    def value(self, name: str) -> str | None:
        return {"Series": self.series, "LanguageISO": self.language, "Manga": self.manga}[name]


@dataclass(frozen=True)
class Finding:
    """One thing a person should look at. ``fix`` names the one-click fix, when one is clear."""

    kind: str
    folder: str
    message: str
    paths: tuple[str, ...] = ()
    values: dict[str, Any] = field(default_factory=dict)
    fix: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "folder": self.folder,
            "message": self.message,
            "paths": list(self.paths),
            "values": self.values,
            "fix": self.fix,
        }


NORMALIZE = {"action": "normalize"}


def check_books(books: Iterable[BookTags]) -> list[Finding]:
    """Every finding for these books, folder by folder (folders in path order)."""
    by_folder: dict[str, list[BookTags]] = defaultdict(list)
    for book in books:
        by_folder[book.folder].append(book)
    findings: list[Finding] = []
    for folder in sorted(by_folder):
        group = sorted(by_folder[folder], key=lambda b: b.path)
        if folder == "":
            paths = tuple(b.path for b in group)
            message = f"{len(paths)} file(s) directly in the library root, outside any series folder"
            findings.append(Finding("outside_series_folder", "", message, paths))
            continue
        findings.extend(check_folder(folder, group))
    return findings


def check_folder(folder: str, books: list[BookTags]) -> list[Finding]:
    """The findings of one series folder's books."""
    findings = [f for name, kind in _MIXED if (f := _mixed(folder, books, name, kind)) is not None]
    volume = _volume_presence(folder, books)
    if volume is not None:
        findings.append(volume)
    findings.extend(_bad_numbers(folder, books))
    findings.extend(_runs(folder, books))
    return findings


def parse_number(text: str | None) -> Decimal | None:
    """The chapter number of a ComicInfo Number (``"7"``, ``"007"``, ``"7.5"``), or None."""
    if text is None or not _NUMBER.fullmatch(text.strip()):
        return None
    try:
        return Decimal(text.strip())
    except InvalidOperation:  # pragma: no cover - the pattern already refuses what Decimal would
        return None


def _mixed(folder: str, books: list[BookTags], name: str, kind: str) -> Finding | None:
    counts = Counter(book.value(name) or NO_VALUE for book in books)
    if len(counts) < 2:
        return None
    shown = ", ".join(f"{value!r} ×{n}" for value, n in counts.most_common())
    message = f"{name} differs inside the folder: {shown}"
    minority = tuple(b.path for b in books if (b.value(name) or NO_VALUE) != counts.most_common(1)[0][0])
    return Finding(
        kind, folder, message, minority, {"field": name, "counts": dict(counts)}, _fix(name, counts)
    )


def _fix(name: str, counts: Counter[str]) -> dict[str, Any] | None:
    """Series comes from the folder name: normalizing the folder sets it. Language and Manga take the
    value most books have, when one value clearly leads; otherwise a person decides."""
    if name == "Series":
        return dict(NORMALIZE)
    (top, top_n), (_, second_n) = counts.most_common(2)
    if top == NO_VALUE or top_n == second_n:
        return None
    return {"action": "tag_update", "tags": {name: top}}


def _volume_presence(folder: str, books: list[BookTags]) -> Finding | None:
    without = tuple(b.path for b in books if not b.volume)
    if not without or len(without) == len(books):
        return None
    message = f"{len(books) - len(without)} file(s) have a Volume and {len(without)} have none"
    return Finding("mixed_volume", folder, message, without, {"without_volume": len(without)})


def _bad_numbers(folder: str, books: list[BookTags]) -> list[Finding]:
    missing = tuple(b.path for b in books if not (b.number or "").strip())
    odd = tuple(b.path for b in books if (b.number or "").strip() and parse_number(b.number) is None)
    findings = []
    if missing:
        message = f"{len(missing)} file(s) have no Number"
        findings.append(Finding("number_missing", folder, message, missing, fix=dict(NORMALIZE)))
    if odd:
        values = {b.path: b.number for b in books if b.path in odd}
        message = f"{len(odd)} file(s) have a Number that is not a number"
        findings.append(
            Finding("number_not_numeric", folder, message, odd, {"numbers": values}, dict(NORMALIZE))
        )
    return findings


def _runs(folder: str, books: list[BookTags]) -> list[Finding]:
    """Repeated numbers and holes in the run of whole numbers, per volume."""
    by_volume: dict[str, list[tuple[Decimal, str]]] = defaultdict(list)
    for book in books:
        number = parse_number(book.number)
        if number is not None:
            by_volume[book.volume or ""].append((number, book.path))
    findings: list[Finding] = []
    for volume in sorted(by_volume):
        numbered = by_volume[volume]
        where = f" in volume {volume}" if volume else ""
        findings.extend(_repeats(folder, numbered, where, volume))
        gap = _gap(folder, numbered, where, volume)
        if gap is not None:
            findings.append(gap)
    return findings


def _repeats(folder: str, numbered: list[tuple[Decimal, str]], where: str, volume: str) -> list[Finding]:
    paths_of: dict[Decimal, list[str]] = defaultdict(list)
    for number, path in numbered:
        paths_of[number].append(path)
    findings = []
    for number in sorted(paths_of):
        paths = paths_of[number]
        if len(paths) > 1:
            message = f"Number {_plain(number)} is used by {len(paths)} files{where}"
            values = {"number": _plain(number), "volume": volume or None}
            findings.append(Finding("number_repeated", folder, message, tuple(sorted(paths)), values))
    return findings


def _gap(folder: str, numbered: list[tuple[Decimal, str]], where: str, volume: str) -> Finding | None:
    whole = sorted({int(n) for n, _ in numbered if n == n.to_integral_value()})
    if len(whole) < 2:
        return None
    present = set(whole)
    holes = [n for n in range(whole[0], whole[-1] + 1) if n not in present]
    if not holes:
        return None
    listed = ", ".join(str(n) for n in holes[:MAX_LISTED])
    more = f" and {len(holes) - MAX_LISTED} more" if len(holes) > MAX_LISTED else ""
    message = f"the run {whole[0]}–{whole[-1]}{where} lacks {listed}{more}"
    return Finding(
        "number_gap", folder, message, (), {"missing": holes[:MAX_LISTED], "volume": volume or None}
    )


def _plain(number: Decimal) -> str:
    return str(number.normalize()) if number != number.to_integral_value() else str(int(number))
