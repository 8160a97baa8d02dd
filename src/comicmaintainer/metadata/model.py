"""What a source answers, as plain data, and the errors a source can give (one plain line each)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


class SourceError(Exception):
    """A source could not answer (down, timed out, refused); ``str()`` is one line without secrets."""


class KeyRefused(SourceError):
    """The source refused the API key or login."""


class NotFoundAtSource(SourceError):
    """The source has no series with that id."""


@dataclass(frozen=True)
class SeriesRecord:
    """One series as a source describes it, already in ComicInfo 2.0 terms where it can be."""

    source: str
    id: str
    title: str
    alt_titles: tuple[str, ...] = ()
    year: int | None = None
    count: int | None = None
    summary: str | None = None
    genres: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    writers: tuple[str, ...] = ()
    pencillers: tuple[str, ...] = ()
    artists: tuple[str, ...] = ()
    publisher: str | None = None
    age_rating: str | None = None
    language: str | None = None
    manga: str | None = None  # "YesAndRightToLeft", "Yes" or "No" from the source's own answer
    web: str | None = None
    cover_url: str | None = None
    localized_series: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SeriesRecord:
        known = {name for name in cls.__dataclass_fields__}
        values = {key: value for key, value in data.items() if key in known}
        for name, spec in cls.__dataclass_fields__.items():
            if name in values and str(spec.type).startswith("tuple") and values[name] is not None:
                values[name] = tuple(values[name])
        return cls(**values)


@dataclass(frozen=True)
class Candidate:
    record: SeriesRecord
    score: float  # 0-100: how sure we are this is the series

    def to_json(self) -> dict[str, Any]:
        return {"score": round(self.score, 1), **self.record.to_json()}


@dataclass(frozen=True)
class SeriesHints:
    """What the library itself says about a series, to rank candidates: its name, year, chapters."""

    name: str
    year: int | None = None
    chapters: int | None = None
