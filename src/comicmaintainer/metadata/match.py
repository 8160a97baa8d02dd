"""Choosing a source's series for a folder, and what it writes into a chapter. Pure: no I/O.

Ranking: the folder's series name against every title the source gives (rapidfuzz's token-sort
ratio over case- and punctuation-folded text, 0–100), then a small bonus or penalty for the year
and the count. The best is taken only when it reaches the threshold *and* leads the next different
series by a margin; otherwise the series "needs a match" and a person chooses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from rapidfuzz import fuzz, utils

from comicmaintainer.metadata.model import Candidate, SeriesHints, SeriesRecord

DEFAULT_THRESHOLD = 90.0
MARGIN = 5.0  # points the best must lead the runner-up by; two "Monster"s are a person's choice
YEAR_BONUS, YEAR_PENALTY = 5.0, 15.0
COUNT_PENALTY = 10.0

# Our rules own these (series from the folder, number and "Chapter N" from the name): never written.
RULE_OWNED = frozenset({"Series", "Number", "Title"})
# The ComicInfo 2.0 elements a match fills. Tags and LocalizedSeries are not in the 2.0 schema
# (they arrive in the 2.1 draft), so a valid 2.0 file cannot hold them: shown on the page, not written.
# 2.0 has no "Artist" either: a manga's artist is its Penciller.
MATCHED_FIELDS = (
    "Summary", "Genre", "Writer", "Penciller", "Publisher", "Year", "AgeRating", "LanguageISO",
    "Manga", "Web", "Count",
)  # fmt: skip
_EMPTY_WORDS = frozenset({"", "unknown"})
_YEAR_IN_NAME = re.compile(r"\s*[\(\[](\d{4})[\)\]]\s*$")


def hints_from_folder(series_name: str, chapters: int | None = None) -> SeriesHints:
    """``"Berserk (1989)"`` → name "Berserk", year 1989: a year in the folder name helps ranking."""
    found = _YEAR_IN_NAME.search(series_name)
    if found:
        return SeriesHints(series_name[: found.start()].strip(), int(found.group(1)), chapters)
    return SeriesHints(series_name.strip(), None, chapters)


def title_similarity(name: str, record: SeriesRecord) -> float:
    titles = (record.title, *record.alt_titles)
    return max(fuzz.token_sort_ratio(name, t, processor=utils.default_process) for t in titles if t)


def score(hints: SeriesHints, record: SeriesRecord) -> float:
    value = title_similarity(hints.name, record)
    if hints.year and record.year:
        value += (
            YEAR_BONUS
            if hints.year == record.year
            else -YEAR_PENALTY
            if abs(hints.year - record.year) > 1
            else 0
        )
    if hints.chapters and record.count and record.count < hints.chapters:
        value -= COUNT_PENALTY  # the source knows fewer chapters than the folder holds
    return max(0.0, min(100.0, value))


def rank(hints: SeriesHints, records: Iterable[SeriesRecord]) -> list[Candidate]:
    """Best first; a record listed twice (same source and id) counts once."""
    seen: dict[tuple[str, str], Candidate] = {}
    for record in records:
        seen.setdefault((record.source, record.id), Candidate(record, score(hints, record)))
    return sorted(seen.values(), key=lambda c: c.score, reverse=True)


def choose(candidates: list[Candidate], threshold: float = DEFAULT_THRESHOLD) -> Candidate | None:
    """The confident best of one source's candidates, or None when nothing reaches ``threshold`` or
    the runner-up is too close to call."""
    if not candidates or candidates[0].score < threshold:
        return None
    best = candidates[0]
    if len(candidates) > 1 and best.score - candidates[1].score < MARGIN:
        return None
    return best


def fields_for(record: SeriesRecord) -> dict[str, str]:
    """The record in ComicInfo 2.0 element names; fields the source does not know are absent."""
    values = {
        "Summary": record.summary,
        "Genre": ", ".join(record.genres) or None,
        "Writer": ", ".join(record.writers) or None,
        "Penciller": ", ".join(record.pencillers or record.artists) or None,
        "Publisher": record.publisher,
        "Year": str(record.year) if record.year else None,
        "AgeRating": record.age_rating,
        "LanguageISO": record.language,
        "Manga": record.manga,
        "Web": record.web,
        "Count": str(record.count) if record.count else None,
    }
    return {name: value for name, value in values.items() if value}


def _same(a: str, b: str) -> bool:
    """Equal as ComicInfo keeps them: comicapi writes lists as "A,B" and may change spacing or case."""

    def norm(text: str) -> str:
        return re.sub(r"\s*,\s*", ",", " ".join(text.split())).casefold()

    return norm(a) == norm(b)


def changes(
    current: Mapping[str, str | None],
    wanted: Mapping[str, str],
    *,
    overwrite: bool = False,
    kept: Iterable[str] = (),
) -> dict[str, str]:
    """The fields to write: never a rule-owned one nor one a person edited (``kept``); a field that
    already holds a value only when ``overwrite``; nothing that already holds the wanted value."""
    keep = RULE_OWNED | set(kept)
    out: dict[str, str] = {}
    for name, value in wanted.items():
        if name in keep or name not in MATCHED_FIELDS:
            continue
        now = current.get(name)
        empty = now is None or now.strip().casefold() in _EMPTY_WORDS
        if (now is not None and _same(now, value)) or (not empty and not overwrite):
            continue
        out[name] = value
    return out
