"""MangaUpdates (REST, https://api.mangaupdates.com): ``POST /series/search`` finds series with their
title, year, genres and description; ``GET /series/{id}`` adds authors, publishers and the latest
chapter, so the chosen candidate costs one more request.

No published number for anonymous reads; we keep to one request every two seconds.
"""

from __future__ import annotations

import re
from typing import Any

from comicmaintainer.metadata.http import SourceHttp
from comicmaintainer.metadata.model import SeriesRecord, SourceError
from comicmaintainer.metadata.text import clean_html, names, numeric_id, year_of

NAME = "mangaupdates"
_URL_ID = re.compile(r"mangaupdates\.com/series/([0-9a-z]+)")
_RTL_TYPES = {"manga": "YesAndRightToLeft", "manhwa": "Yes", "manhua": "Yes"}
_LANGUAGES = {"manga": "ja", "manhwa": "ko", "manhua": "zh"}


class MangaUpdates:
    name = NAME
    needs_record = True  # a search result lacks credits: fetch the chosen one's record

    def __init__(self, http: SourceHttp) -> None:
        self.http = http

    def search(self, name: str) -> list[SeriesRecord]:
        answer = self.http.post("series/search", {"search": name, "perpage": 10})
        if not isinstance(answer, dict) or not isinstance(answer.get("results"), list):
            raise SourceError("mangaupdates: the answer is not the expected shape")
        return [to_record(hit["record"]) for hit in answer["results"] if isinstance(hit.get("record"), dict)]

    def record(self, source_id: str) -> SeriesRecord:
        answer = self.http.get(f"series/{source_id}")
        if not isinstance(answer, dict) or "series_id" not in answer:
            raise SourceError("mangaupdates: the answer is not the expected shape")
        return to_record(answer)

    @staticmethod
    def parse_id(text: str) -> str | None:
        return numeric_id(text, _URL_ID)


def to_record(data: dict[str, Any]) -> SeriesRecord:
    kind = str(data.get("type") or "").casefold()
    authors = data.get("authors") or ()
    associated = [a.get("title") for a in data.get("associated") or ()]
    publishers = [
        p.get("publisher_name") for p in data.get("publishers") or () if p.get("type") == "Original"
    ]
    image = ((data.get("image") or {}).get("url")) or {}
    return SeriesRecord(
        source=NAME,
        id=str(data["series_id"]),
        title=data.get("title") or str(data["series_id"]),
        alt_titles=names(associated),
        year=year_of(data.get("year")),
        count=data.get("latest_chapter") or None,
        summary=clean_html(data.get("description")),
        genres=names(g.get("genre") for g in data.get("genres") or ()),
        tags=names(c.get("category") for c in (data.get("categories") or ())[:20]),
        writers=names(a.get("name") for a in authors if a.get("type") == "Author"),
        artists=names(a.get("name") for a in authors if a.get("type") == "Artist"),
        publisher=publishers[0] if publishers else None,
        language=_LANGUAGES.get(kind),
        manga=_RTL_TYPES.get(kind),
        web=data.get("url"),
        cover_url=image.get("thumb") or image.get("original"),
        localized_series=associated[0] if associated else None,
    )
