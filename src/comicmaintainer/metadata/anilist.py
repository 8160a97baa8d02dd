"""AniList (GraphQL, https://docs.anilist.co): one POST per search returns every field we need.

Published limit: 90 requests a minute (30 while the API is in its long "degraded" state).
"""

from __future__ import annotations

import re
from typing import Any

from comicmaintainer.metadata.http import SourceHttp
from comicmaintainer.metadata.model import NotFoundAtSource, SeriesRecord, SourceError
from comicmaintainer.metadata.text import clean_html, names, numeric_id, one_of

NAME = "anilist"
PUBLISHED_PER_MINUTE = 90

_FIELDS = """
id siteUrl format countryOfOrigin isAdult chapters volumes description(asHtml: false) genres
title { romaji english native } synonyms startDate { year } coverImage { large }
tags { name rank isMediaSpoiler }
staff(perPage: 25) { edges { role node { name { full } } } }
"""
SEARCH_QUERY = (
    "query ($search: String) { Page(perPage: 10) { media(search: $search, type: MANGA) {" + _FIELDS + "} } }"
)
RECORD_QUERY = "query ($id: Int) { Media(id: $id, type: MANGA) {" + _FIELDS + "} }"
_URL_ID = re.compile(r"anilist\.co/manga/(\d+)")


class AniList:
    name = NAME

    def __init__(self, http: SourceHttp) -> None:
        self.http = http

    def search(self, name: str) -> list[SeriesRecord]:
        data = self._query(SEARCH_QUERY, {"search": name})
        media = ((data.get("Page") or {}).get("media")) or []
        return [to_record(item) for item in media if isinstance(item, dict)]

    def record(self, source_id: str) -> SeriesRecord:
        data = self._query(RECORD_QUERY, {"id": int(source_id)})
        if not data.get("Media"):
            raise NotFoundAtSource(f"anilist: no manga with id {source_id}")
        return to_record(data["Media"])

    @staticmethod
    def parse_id(text: str) -> str | None:
        return numeric_id(text, _URL_ID)

    def _query(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        answer = self.http.post("", {"query": query, "variables": variables})
        errors = answer.get("errors") if isinstance(answer, dict) else None
        if errors:
            status = errors[0].get("status") if isinstance(errors[0], dict) else None
            if status == 404:
                raise NotFoundAtSource(f"anilist: no manga with id {variables.get('id')}")
            raise SourceError(f"anilist: the query was refused (status {status})")
        if not isinstance(answer, dict) or not isinstance(answer.get("data"), dict):
            raise SourceError("anilist: the answer has no data")
        return answer["data"]


def to_record(media: dict[str, Any]) -> SeriesRecord:
    title = media.get("title") or {}
    main = one_of(title.get("english"), title.get("romaji"), title.get("native")) or str(media["id"])
    alt = tuple(
        t
        for t in (
            title.get("romaji"),
            title.get("english"),
            title.get("native"),
            *(media.get("synonyms") or []),
        )
        if t and t != main
    )
    writers, artists = _staff(media)
    country = media.get("countryOfOrigin")
    return SeriesRecord(
        source=NAME,
        id=str(media["id"]),
        title=main,
        alt_titles=tuple(dict.fromkeys(alt)),
        year=(media.get("startDate") or {}).get("year"),
        count=media.get("chapters"),
        summary=clean_html(media.get("description")),
        genres=tuple(media.get("genres") or ()),
        tags=tuple(t["name"] for t in media.get("tags") or () if not t.get("isMediaSpoiler")),
        writers=writers,
        artists=artists,
        age_rating="Adults Only 18+" if media.get("isAdult") else None,
        language={"JP": "ja", "KR": "ko", "CN": "zh", "TW": "zh"}.get(country or ""),
        manga="YesAndRightToLeft" if country == "JP" else "Yes" if country else None,
        web=media.get("siteUrl"),
        cover_url=(media.get("coverImage") or {}).get("large"),
        localized_series=title.get("romaji") if title.get("romaji") != main else title.get("english"),
    )


def _staff(media: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """AniList roles are free text: "Story & Art", "Story", "Art", "Original Creator" …"""
    writers: list[str] = []
    artists: list[str] = []
    for edge in (media.get("staff") or {}).get("edges") or ():
        role = (edge.get("role") or "").casefold()
        name = ((edge.get("node") or {}).get("name") or {}).get("full")
        if not name:
            continue
        if "story" in role or "original" in role:
            writers.append(name)
        if "art" in role:
            artists.append(name)
    return names(writers), names(artists)
