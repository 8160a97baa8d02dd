"""ComicVine (REST, https://comicvine.gamespot.com/api/documentation): ``GET /search/?resources=volume``
returns volumes (ComicVine's name for a series) with publisher, year, issue count and description.

The API key travels as the ``api_key`` query parameter (http.SourceHttp adds it at send time and
keeps it out of the cache key and every message). Published limit: 200 requests per resource an
hour, and no bursts ("velocity detection"); we default to three a minute.
"""

from __future__ import annotations

import re
from typing import Any

from comicmaintainer.metadata.http import SourceHttp
from comicmaintainer.metadata.model import KeyRefused, NotFoundAtSource, SeriesRecord, SourceError
from comicmaintainer.metadata.text import clean_html, names, numeric_id, one_of, year_of

NAME = "comicvine"
VOLUME_PREFIX = "4050-"
_FIELDS = "id,name,aliases,start_year,count_of_issues,publisher,deck,description,image,site_detail_url"
_URL_ID = re.compile(r"4050-(\d+)")
_INVALID_KEY, _NOT_FOUND = 100, 101  # ComicVine's status_code values


class ComicVine:
    name = NAME

    def __init__(self, http: SourceHttp) -> None:
        self.http = http

    def search(self, name: str) -> list[SeriesRecord]:
        params = {"format": "json", "resources": "volume", "query": name, "limit": 10, "field_list": _FIELDS}
        results = _ok(self.http.get("search/", params))
        return [to_record(item) for item in results if isinstance(item, dict)]

    def record(self, source_id: str) -> SeriesRecord:
        answer = self.http.get(
            f"volume/{VOLUME_PREFIX}{source_id}/", {"format": "json", "field_list": _FIELDS}
        )
        result = _ok(answer)
        if not isinstance(result, dict):
            raise NotFoundAtSource(f"comicvine: no volume {source_id}")
        return to_record(result)

    @staticmethod
    def parse_id(text: str) -> str | None:
        return numeric_id(text, _URL_ID)


def _ok(answer: Any) -> Any:
    if not isinstance(answer, dict):
        raise SourceError("comicvine: the answer is not the expected shape")
    code = answer.get("status_code")
    if code == _INVALID_KEY:
        raise KeyRefused("comicvine: the API key was refused")
    if code == _NOT_FOUND:
        raise NotFoundAtSource("comicvine: no such volume")
    if code != 1:
        raise SourceError(f"comicvine: the request was refused (status_code {code})")
    return answer.get("results")


def to_record(item: dict[str, Any]) -> SeriesRecord:
    aliases = str(item.get("aliases") or "").splitlines()
    image = item.get("image") or {}
    return SeriesRecord(
        source=NAME,
        id=str(item["id"]),
        title=item.get("name") or str(item["id"]),
        alt_titles=names(aliases),
        year=year_of(item.get("start_year")),
        count=item.get("count_of_issues"),
        summary=one_of(clean_html(item.get("description")), item.get("deck")),
        publisher=(item.get("publisher") or {}).get("name"),
        manga="No",
        web=item.get("site_detail_url"),
        cover_url=one_of(image.get("small_url"), image.get("thumb_url"), image.get("original_url")),
    )
