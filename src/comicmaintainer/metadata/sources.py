"""The source clients, built from settings: which are on, where they live, how fast they may be asked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from comicmaintainer.config import METADATA_SOURCES, Settings
from comicmaintainer.metadata.anilist import AniList
from comicmaintainer.metadata.comicvine import ComicVine
from comicmaintainer.metadata.http import Cache, Manners, SourceHttp
from comicmaintainer.metadata.mangadex import MangaDex
from comicmaintainer.metadata.mangaupdates import MangaUpdates
from comicmaintainer.metadata.metron import Metron
from comicmaintainer.metadata.model import KeyRefused, SeriesRecord

_CLASSES: dict[str, Callable[[SourceHttp], Client]] = {
    "anilist": AniList,
    "mangadex": MangaDex,
    "mangaupdates": MangaUpdates,
    "metron": Metron,
    "comicvine": ComicVine,
}


class Client(Protocol):
    name: str
    http: SourceHttp

    def search(self, name: str) -> list[SeriesRecord]: ...
    def record(self, source_id: str) -> SeriesRecord: ...
    @staticmethod
    def parse_id(text: str) -> str | None: ...


def manners(settings: Settings, name: str) -> Manners:
    return Manners(
        per_minute=getattr(settings, f"{name}_per_minute"), ttl=settings.metadata_cache_days * 86400
    )


def build_client(
    settings: Settings, name: str, cache: Cache | None, sleep: Callable[[float], None]
) -> Client:
    """One source's client; a source that needs a key or login and has none refuses at once."""
    secret_params: dict[str, str] = {}
    auth = None
    if name == "comicvine":
        if not settings.comicvine_api_key:
            raise KeyRefused("comicvine: no API key is set (comicvine_api_key or COMICVINE_API_KEY)")
        secret_params = {"api_key": settings.comicvine_api_key}
    if name == "metron":
        if not (settings.metron_username and settings.metron_password):
            raise KeyRefused("metron: no login is set (metron_username and metron_password)")
        auth = (settings.metron_username, settings.metron_password)
    http = SourceHttp(name, getattr(settings, f"{name}_url"), manners(settings, name), cache,
                      secret_params=secret_params, auth=auth, sleep=sleep)  # fmt: skip
    return _CLASSES[name](http)


def order(settings: Settings, kind: str) -> list[str]:
    """The enabled sources for a library kind ("manga" or "comics"), in the configured order."""
    text = settings.metadata_manga_order if kind == "manga" else settings.metadata_comics_order
    wanted = [n.strip() for n in text.split(",") if n.strip() in METADATA_SOURCES]
    return [n for n in dict.fromkeys(wanted) if getattr(settings, f"{n}_enabled")]
