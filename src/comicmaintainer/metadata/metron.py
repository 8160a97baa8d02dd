"""Metron (REST, https://metron.cloud/docs, HTTP basic login): ``GET /series/?name=`` lists series;
``GET /series/{id}/`` gives publisher, description and genres (one more request for the choice).

Published limit: 30 requests a minute and 10,000 a day.
"""

from __future__ import annotations

import re
from typing import Any

from comicmaintainer.metadata.http import SourceHttp
from comicmaintainer.metadata.model import SeriesRecord, SourceError
from comicmaintainer.metadata.text import names, numeric_id

NAME = "metron"
SITE = "https://metron.cloud/series/"
_URL_ID = re.compile(r"metron\.cloud/(?:api/)?series/(\d+)")


class Metron:
    name = NAME
    needs_record = True

    def __init__(self, http: SourceHttp) -> None:
        self.http = http

    def search(self, name: str) -> list[SeriesRecord]:
        answer = self.http.get("series/", {"name": name})
        if not isinstance(answer, dict) or not isinstance(answer.get("results"), list):
            raise SourceError("metron: the answer is not the expected shape")
        return [_listed(item) for item in answer["results"]]

    def record(self, source_id: str) -> SeriesRecord:
        answer = self.http.get(f"series/{source_id}/")
        if not isinstance(answer, dict) or "id" not in answer:
            raise SourceError("metron: the answer is not the expected shape")
        return to_record(answer)

    @staticmethod
    def parse_id(text: str) -> str | None:
        return numeric_id(text, _URL_ID)


def _listed(item: dict[str, Any]) -> SeriesRecord:
    """A list entry's ``series`` is the display name, "Name (Year)"; the name alone ranks better."""
    shown = str(item.get("series") or item["id"])
    title = re.sub(r"\s*\(\d{4}\)\s*$", "", shown)
    return SeriesRecord(
        NAME,
        str(item["id"]),
        title,
        year=item.get("year_began"),
        count=item.get("issue_count"),
        web=f"{SITE}{item['id']}/",
        manga="No",
    )


def to_record(data: dict[str, Any]) -> SeriesRecord:
    return SeriesRecord(
        source=NAME,
        id=str(data["id"]),
        title=data.get("name") or str(data["id"]),
        alt_titles=names(data.get("associated_names") or ()),
        year=data.get("year_began"),
        count=data.get("issue_count"),
        summary=data.get("desc") or None,
        genres=names(g.get("name") for g in data.get("genres") or ()),
        publisher=(data.get("publisher") or {}).get("name"),
        language="en",
        manga="No",
        web=data.get("resource_url") or f"{SITE}{data['id']}/",
    )
