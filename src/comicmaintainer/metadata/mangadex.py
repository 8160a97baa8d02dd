"""MangaDex (REST, https://api.mangadex.org/docs): ``GET /manga?title=`` with authors, artists and
the cover included in the same answer, so one request per search.

Published limit: 5 requests a second per IP; a real User-Agent is required (http.USER_AGENT).
"""

from __future__ import annotations

import re
from typing import Any

from comicmaintainer.metadata.http import SourceHttp
from comicmaintainer.metadata.model import NotFoundAtSource, SeriesRecord, SourceError
from comicmaintainer.metadata.text import names, one_of, year_of

NAME = "mangadex"
PUBLISHED_PER_MINUTE = 300
SITE = "https://mangadex.org/title/"
COVERS = "https://uploads.mangadex.org/covers/"
_INCLUDES = ["author", "artist", "cover_art"]
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_RATINGS = {
    "safe": "Everyone",
    "suggestive": "Teen",
    "erotica": "Mature 17+",
    "pornographic": "Adults Only 18+",
}


class MangaDex:
    name = NAME

    def __init__(self, http: SourceHttp) -> None:
        self.http = http

    def search(self, name: str) -> list[SeriesRecord]:
        answer = self.http.get("manga", {"title": name, "limit": 10, "includes[]": _INCLUDES})
        return [to_record(item) for item in _ok(answer, "collection")]

    def record(self, source_id: str) -> SeriesRecord:
        answer = self.http.get(f"manga/{source_id}", {"includes[]": _INCLUDES})
        return to_record(_ok(answer, "entity"))

    @staticmethod
    def parse_id(text: str) -> str | None:
        found = _UUID.search(text)
        return found.group(0).lower() if found else None


def _ok(answer: Any, response: str) -> Any:
    if not isinstance(answer, dict) or answer.get("result") != "ok":
        errors = answer.get("errors") if isinstance(answer, dict) else None
        status = errors[0].get("status") if errors and isinstance(errors[0], dict) else None
        if status == 404:
            raise NotFoundAtSource("mangadex: no such manga")
        raise SourceError(f"mangadex: the request was refused (status {status})")
    data = answer.get("data")
    if answer.get("response") != response or data is None:
        raise SourceError("mangadex: the answer is not the expected shape")
    return data


def to_record(item: dict[str, Any]) -> SeriesRecord:
    attrs = item.get("attributes") or {}
    titles = attrs.get("title") or {}
    alt = [text for entry in attrs.get("altTitles") or () for text in entry.values()]
    main = one_of(titles.get("en"), *titles.values(), *alt) or item["id"]
    tags = [t.get("attributes") or {} for t in attrs.get("tags") or ()]
    language = attrs.get("originalLanguage")
    return SeriesRecord(
        source=NAME,
        id=item["id"],
        title=main,
        alt_titles=names(t for t in (*titles.values(), *alt) if t != main),
        year=year_of(attrs.get("year")),
        count=_whole(attrs.get("lastChapter")),
        summary=one_of(
            (attrs.get("description") or {}).get("en"), *(attrs.get("description") or {}).values()
        ),
        genres=names(_en(t) for t in tags if t.get("group") == "genre"),
        tags=names(_en(t) for t in tags if t.get("group") in ("theme", "format")),
        writers=_people(item, "author"),
        artists=_people(item, "artist"),
        age_rating=_RATINGS.get(attrs.get("contentRating") or ""),
        language=language.split("-")[0] if language else None,
        manga="YesAndRightToLeft"
        if language == "ja"
        else "Yes"
        if language in ("ko", "zh", "zh-hk")
        else None,
        web=SITE + item["id"],
        cover_url=_cover(item),
        localized_series=one_of(*(entry.get("ja-ro") for entry in attrs.get("altTitles") or ())),
    )


def _en(tag_attrs: dict[str, Any]) -> str | None:
    name = tag_attrs.get("name") or {}
    return one_of(name.get("en"), *name.values())


def _people(item: dict[str, Any], kind: str) -> tuple[str, ...]:
    return names(
        (rel.get("attributes") or {}).get("name")
        for rel in item.get("relationships") or ()
        if rel.get("type") == kind
    )


def _cover(item: dict[str, Any]) -> str | None:
    for rel in item.get("relationships") or ():
        file_name = (rel.get("attributes") or {}).get("fileName")
        if rel.get("type") == "cover_art" and file_name:
            return f"{COVERS}{item['id']}/{file_name}.256.jpg"
    return None


def _whole(value: object) -> int | None:
    try:
        return int(float(str(value))) if value not in (None, "") else None
    except ValueError:
        return None
