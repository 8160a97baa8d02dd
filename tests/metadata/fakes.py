"""Small fake servers on loopback, one per source, answering in each API's documented shapes.

Where each shape comes from (the sources' public documentation):

- AniList: GraphQL at one POST endpoint, ``{"data": {"Page": {"media": [...]}}}`` and
  ``{"data": {"Media": {...}}}``; errors as ``{"errors": [{"message", "status"}], "data": null}``
  with the same HTTP status; 429 with ``Retry-After`` (https://docs.anilist.co/guide/graphql/,
  https://docs.anilist.co/guide/rate-limiting, the Media type in https://studio.apollographql.com/sandbox/schema/reference
  as linked from the AniList docs).
- MangaDex: ``GET /manga?title=`` → ``{"result": "ok", "response": "collection", "data": [...]}``,
  ``GET /manga/{id}`` → ``"response": "entity"``; each manga has ``attributes`` (``title``,
  ``altTitles``, ``description``, ``originalLanguage``, ``lastChapter``, ``year``, ``contentRating``,
  ``tags[].attributes.{name,group}``) and ``relationships`` (author, artist, cover_art with
  ``fileName`` when included); errors ``{"result": "error", "errors": [{"status", "title"}]}``
  (https://api.mangadex.org/docs/ and its OpenAPI file, https://api.mangadex.org/docs/2-limitations).
- MangaUpdates: ``POST /v1/series/search`` with ``{"search", "perpage"}`` →
  ``{"total_hits", "page", "per_page", "results": [{"record": {...}, "hit_title"}]}``;
  ``GET /v1/series/{id}`` → the series with ``authors[].{name,type}``, ``publishers[].{publisher_name,type}``,
  ``genres[].genre``, ``associated[].title``, ``latest_chapter`` (https://api.mangaupdates.com/, OpenAPI).
- Metron: ``GET /api/series/?name=`` → ``{"count", "next", "previous", "results": [{"id", "series",
  "year_began", "issue_count", "volume"}]}``; ``GET /api/series/{id}/`` → ``name``, ``publisher``,
  ``desc``, ``genres``, ``resource_url``; HTTP basic login, 401 ``{"detail": ...}``
  (https://metron.cloud/docs/, the API's schema at https://metron.cloud/api/schema/swagger-ui/).
- ComicVine: ``GET /api/search/?api_key=&format=json&resources=volume&query=`` and
  ``GET /api/volume/4050-{id}/`` → ``{"error": "OK", "status_code": 1, "results": ...}``; a bad key is
  HTTP 401 with ``status_code`` 100 "Invalid API Key" (https://comicvine.gamespot.com/api/documentation).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

GOOD_KEY = "cv-secret-key-123"
# A 1×1 PNG, the cover of every fake series.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cf00000301010018dd8db00000000049454e44ae426082"
)
LOGIN = ("reader", "metron-secret-pw")


@dataclass(frozen=True)
class Series:
    id: int
    title: str
    year: int
    count: int
    summary: str = "A story."
    genres: tuple[str, ...] = ("Action", "Drama")
    writer: str = "Writer Name"
    artist: str = "Artist Name"
    publisher: str = "Publisher Co"
    country: str = "JP"
    alt: str = ""

    @property
    def uuid(self) -> str:
        return f"00000000-0000-4000-8000-{self.id:012d}"


@dataclass
class Fake:
    """One source's fake: its series, what it was asked, and a fault to play."""

    source: str
    series: list[Series]
    fault: str | None = None  # "429", "down", "refuse", "hang"
    fault_times: int = 10**9  # how many requests the fault answers before the fake behaves
    retry_after: str = "1"
    hang_for: float = 2.0
    requests: list[tuple[float, str, str]] = field(default_factory=list)  # (time, method, path+query)
    port: int = 0

    @property
    def images(self) -> str:
        """Where the covers in this fake's answers point: the fake itself."""
        return f"http://127.0.0.1:{self.port}/img"

    @property
    def url(self) -> str:
        prefix = {"mangaupdates": "/v1", "metron": "/api", "comicvine": "/api"}.get(self.source, "")
        return f"http://127.0.0.1:{self.port}{prefix}"

    def found(self, query: str) -> list[Series]:
        words = {w for w in query.casefold().split() if len(w) > 2} or {query.casefold()}
        return [s for s in self.series if words & set(s.title.casefold().replace(":", "").split())]

    def by_id(self, text: str) -> Series | None:
        return next((s for s in self.series if str(s.id) == text or s.uuid == text), None)


def anilist_media(s: Series) -> dict[str, Any]:
    return {
        "id": s.id,
        "siteUrl": f"https://anilist.co/manga/{s.id}",
        "format": "MANGA",
        "countryOfOrigin": s.country,
        "isAdult": False,
        "chapters": s.count,
        "volumes": None,
        "description": f"<p>{s.summary}</p><br>",
        "genres": list(s.genres),
        "title": {"romaji": s.alt or s.title, "english": s.title, "native": None},
        "synonyms": [],
        "startDate": {"year": s.year},
        "coverImage": {"large": f"https://img.example/{s.id}.jpg"},
        "tags": [{"name": "Revenge", "rank": 80, "isMediaSpoiler": False}],
        "staff": {
            "edges": [
                {"role": "Story", "node": {"name": {"full": s.writer}}},
                {"role": "Art", "node": {"name": {"full": s.artist}}},
            ]
        },
    }


def mangadex_manga(s: Series) -> dict[str, Any]:
    return {
        "id": s.uuid,
        "type": "manga",
        "attributes": {
            "title": {"en": s.title},
            "altTitles": [{"ja-ro": s.alt}] if s.alt else [],
            "description": {"en": s.summary},
            "originalLanguage": {"JP": "ja", "KR": "ko"}.get(s.country, "en"),
            "lastVolume": "",
            "lastChapter": str(s.count),
            "year": s.year,
            "contentRating": "safe",
            "status": "completed",
            "tags": [
                {"id": f"t{i}", "type": "tag", "attributes": {"name": {"en": g}, "group": "genre"}}
                for i, g in enumerate(s.genres)
            ],
        },
        "relationships": [
            {"id": "a1", "type": "author", "attributes": {"name": s.writer}},
            {"id": "a2", "type": "artist", "attributes": {"name": s.artist}},
            {"id": "c1", "type": "cover_art", "attributes": {"fileName": "cover.jpg"}},
        ],
    }


def mangaupdates_record(s: Series, full: bool) -> dict[str, Any]:
    base = {
        "series_id": s.id,
        "title": s.title,
        "url": f"https://www.mangaupdates.com/series/{s.id}",
        "description": s.summary,
        "image": {"url": {"original": "https://img.example/o.jpg", "thumb": "https://img.example/t.jpg"}},
        "type": "Manga" if s.country == "JP" else "Manhwa",
        "year": str(s.year),
        "genres": [{"genre": g} for g in s.genres],
        "bayesian_rating": 8.1,
    }
    if full:
        base.update(
            {
                "associated": [{"title": s.alt}] if s.alt else [],
                "latest_chapter": s.count,
                "authors": [{"name": s.writer, "type": "Author"}, {"name": s.artist, "type": "Artist"}],
                "publishers": [{"publisher_name": s.publisher, "type": "Original"}],
                "categories": [],
            }
        )
    return base


def metron_series(s: Series, full: bool) -> dict[str, Any]:
    if not full:
        return {
            "id": s.id,
            "series": f"{s.title} ({s.year})",
            "year_began": s.year,
            "issue_count": s.count,
            "volume": 1,
        }
    return {
        "id": s.id,
        "name": s.title,
        "year_began": s.year,
        "issue_count": s.count,
        "desc": s.summary,
        "publisher": {"id": 1, "name": s.publisher},
        "genres": [{"id": 1, "name": g} for g in s.genres],
        "resource_url": f"https://metron.cloud/series/{s.id}/",
        "associated": [],
    }


def comicvine_volume(s: Series) -> dict[str, Any]:
    return {
        "id": s.id,
        "name": s.title,
        "aliases": s.alt or None,
        "start_year": str(s.year),
        "count_of_issues": s.count,
        "publisher": {"id": 10, "name": s.publisher},
        "deck": None,
        "description": f"<p>{s.summary}</p>",
        "image": {"small_url": f"https://img.example/{s.id}.jpg"},
        "site_detail_url": f"https://comicvine.gamespot.com/x/4050-{s.id}/",
    }


def answer(
    fake: Fake, method: str, path: str, query: dict[str, list[str]], body: Any, headers: Any
) -> tuple[int, Any]:
    """The status and JSON body the source would send."""
    if fake.source == "anilist":
        variables = body.get("variables") or {}
        if "search" in variables:
            return 200, {
                "data": {"Page": {"media": [anilist_media(s) for s in fake.found(variables["search"])]}}
            }
        found = fake.by_id(str(variables.get("id")))
        if found is None:
            return 404, {"errors": [{"message": "Not Found.", "status": 404}], "data": {"Media": None}}
        return 200, {"data": {"Media": anilist_media(found)}}
    if fake.source == "mangadex":
        if path.rstrip("/") == "/manga":
            data = [mangadex_manga(s) for s in fake.found(query.get("title", [""])[0])]
            return 200, {
                "result": "ok",
                "response": "collection",
                "data": data,
                "limit": 10,
                "offset": 0,
                "total": len(data),
            }
        found = fake.by_id(path.rsplit("/", 1)[-1])
        if found is None:
            return 404, {
                "result": "error",
                "errors": [{"id": "x", "status": 404, "title": "Not found", "detail": ""}],
            }
        return 200, {"result": "ok", "response": "entity", "data": mangadex_manga(found)}
    if fake.source == "mangaupdates":
        if method == "POST":
            hits = [
                {"record": mangaupdates_record(s, False), "hit_title": s.title}
                for s in fake.found(body["search"])
            ]
            return 200, {"total_hits": len(hits), "page": 1, "per_page": 10, "results": hits}
        found = fake.by_id(path.rstrip("/").rsplit("/", 1)[-1])
        return (
            (200, mangaupdates_record(found, True))
            if found
            else (404, {"status": "exception", "reason": "not found"})
        )
    if fake.source == "metron":
        if headers.get("Authorization") != _basic(*LOGIN):
            return 401, {"detail": "Invalid username/password."}
        if path.rstrip("/") == "/api/series":
            results = [metron_series(s, False) for s in fake.found(query.get("name", [""])[0])]
            return 200, {"count": len(results), "next": None, "previous": None, "results": results}
        found = fake.by_id(path.rstrip("/").rsplit("/", 1)[-1])
        return (200, metron_series(found, True)) if found else (404, {"detail": "Not found."})
    if query.get("api_key", [""])[0] != GOOD_KEY:
        return 401, {
            "error": "Invalid API Key",
            "limit": 0,
            "offset": 0,
            "number_of_page_results": 0,
            "number_of_total_results": 0,
            "status_code": 100,
            "results": [],
        }
    ok = {"error": "OK", "limit": 10, "offset": 0, "status_code": 1}
    if path.rstrip("/") == "/api/search":
        results = [comicvine_volume(s) for s in fake.found(query.get("query", [""])[0])]
        return 200, {
            **ok,
            "number_of_page_results": len(results),
            "number_of_total_results": len(results),
            "results": results,
        }
    found = fake.by_id(path.rstrip("/").rsplit("-", 1)[-1])
    if found is None:
        return 404, {"error": "Object Not Found", "status_code": 101, "results": []}
    return 200, {**ok, "results": comicvine_volume(found)}


def _basic(user: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _handler(fake: Fake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return None

        def _serve(self, method: str) -> None:
            fake.requests.append((time.monotonic(), method, self.path))
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}") if length else {}
            if fake.fault and fake.fault_times > 0:
                fake.fault_times -= 1
                if self._fault():
                    return
            parts = urlsplit(self.path)
            if parts.path.startswith("/img/"):
                self._image()
                return
            status, data = answer(fake, method, parts.path, parse_qs(parts.query), body, self.headers)
            self._send(status, json.loads(json.dumps(data).replace("https://img.example", fake.images)))

        def _image(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PNG)))
            self.end_headers()
            self.wfile.write(PNG)

        def _fault(self) -> bool:
            if fake.fault == "hang":
                time.sleep(fake.hang_for)
                return True
            status, headers = {
                "429": (429, {"Retry-After": fake.retry_after}),
                "down": (503, {}),
                "refuse": (401, {}),
            }[fake.fault or ""]
            self._send(status, {"errors": [{"message": "fault", "status": status}]}, headers)
            return True

        def _send(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
            raw = json.dumps(data).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(raw)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

    return Handler


@contextmanager
def serving(fake: Fake) -> Iterator[Fake]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
