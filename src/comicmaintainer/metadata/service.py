"""Finding, keeping and pinning each series folder's match.

A folder is matched once: the stored match (or a person's pin) is used from then on, so a later
run asks no source anything. Sources are asked in the configured order for the folder's kind; the
first that yields a confident candidate wins. When none does, the folder is stored as *needs a
match* with every candidate found, for a person to choose on the page.

How a series is known to be manga or comics: a per-folder kind set by a person (``set_kind``;
the page or ``--kind``), otherwise the library's ``metadata_kind`` setting. The kind only picks the
source order; the ComicInfo ``Manga`` value itself (``YesAndRightToLeft`` …) is the source's answer.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import PurePosixPath

from comicmaintainer.config import METADATA_SOURCES, Settings
from comicmaintainer.domain.naming import series_from_folder
from comicmaintainer.library.paths import resolve_inside
from comicmaintainer.library.store import MetadataStore, SeriesMatch, Store
from comicmaintainer.metadata import match as ranking
from comicmaintainer.metadata.model import Candidate, SeriesRecord, SourceError
from comicmaintainer.metadata.sources import Client, build_client, order

KIND_SCOPE = "metadata_kind"  # kv scope: folder -> "manga" | "comics", a person's choice
FAILURE_MEMORY = 60.0  # seconds a folder's failed lookup is remembered, so its other chapters fail fast
ARCHIVES = (".cbz", ".cbr", ".zip", ".rar")


class MetadataService:
    """One per store and settings; safe to share between job workers."""

    def __init__(
        self, settings: Settings, store: Store, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.settings = settings
        self.data = MetadataStore(store)
        self._kv = store
        self._sleep = sleep
        self._clients: dict[str, Client] = {}
        self._lock = threading.Lock()
        self._folder_locks: dict[str, threading.Lock] = {}
        self._failures: dict[str, tuple[float, str]] = {}
        self._searched: dict[str, list[Candidate]] = {}  # folder -> the last search a person ran

    def close(self) -> None:
        for client in self._clients.values():
            client.http.close()

    @property
    def requests(self) -> int:
        """Requests sent over the wire so far (cache hits are not requests)."""
        return sum(client.http.requests for client in self._clients.values())

    def client(self, name: str) -> Client:
        if name not in METADATA_SOURCES:
            raise SourceError(f"unknown source {name!r}; expected one of {', '.join(METADATA_SOURCES)}")
        with self._lock:
            if name not in self._clients:
                self._clients[name] = build_client(self.settings, name, self.data, self._sleep)
            return self._clients[name]

    # -- kinds -----------------------------------------------------------------------------------

    def kind_of(self, folder: str) -> str:
        return self._kv.get_kv(KIND_SCOPE).get(folder) or self.settings.metadata_kind

    def set_kind(self, folder: str, kind: str | None) -> None:
        if kind is None:
            self._kv.delete_kv(KIND_SCOPE, folder)
        elif kind in ("manga", "comics"):
            self._kv.set_kv(KIND_SCOPE, folder, kind)
        else:
            raise ValueError(f"a series kind is manga or comics, got {kind!r}")

    # -- matching --------------------------------------------------------------------------------

    def series_match(self, folder: str, *, source: str | None = None) -> SeriesMatch:
        """The folder's stored match or pin, or a new search (stored either way). Raises SourceError."""
        with self._folder_lock(folder):
            stored = self.data.get_match(folder)
            if stored is not None and stored.status in ("matched", "pinned"):
                return stored
            failed = self._failures.get(folder)
            if failed and time.monotonic() - failed[0] < FAILURE_MEMORY:
                raise SourceError(failed[1])
            try:
                found = self._search(
                    folder, [source] if source else order(self.settings, self.kind_of(folder))
                )
            except SourceError as exc:
                self._failures[folder] = (time.monotonic(), str(exc))
                raise
            self.data.save_match(found)
            return found

    def search(self, folder: str, source: str | None = None) -> list[Candidate]:
        """Candidates for a person to choose from (cached answers; nothing stored)."""
        names = [source] if source else order(self.settings, self.kind_of(folder))
        hints = self.hints(folder)
        found: list[Candidate] = []
        for name in names:
            found += ranking.rank(hints, self.client(name).search(hints.name))
        found.sort(key=lambda c: c.score, reverse=True)
        self._searched[folder] = found
        return found

    def cover_url(self, folder: str, source: str, source_id: str) -> str | None:
        """The cover address of a candidate this folder was shown (stored or just searched), if any."""
        stored = self.data.get_match(folder)
        shown = [c.record.to_json() for c in self._searched.get(folder, [])]
        if stored is not None:
            shown += [*stored.candidates, *([stored.record] if stored.record else [])]
        found = next((c for c in shown if c.get("source") == source and str(c.get("id")) == source_id), None)
        return found.get("cover_url") if found else None

    def pin(self, folder: str, source: str, id_or_url: str) -> SeriesMatch:
        """A person's choice: stored as a pin, never replaced by a search until cleared."""
        client = self.client(source)
        source_id = client.parse_id(id_or_url)
        if not source_id:
            raise ValueError(f"{id_or_url[:80]!r} is not a {source} id or page address")
        record = client.record(source_id)
        with self._folder_lock(folder):
            stored = self.data.get_match(folder)
            match = SeriesMatch(folder, "pinned", source, record.id, None, record.to_json(),
                                stored.candidates if stored else [], time.time())  # fmt: skip
            self.data.save_match(match)
            self._failures.pop(folder, None)
        return match

    def clear(self, folder: str) -> bool:
        self._failures.pop(folder, None)
        return self.data.clear(folder)

    def hints(self, folder: str) -> ranking.SeriesHints:
        name = series_from_folder(PurePosixPath(folder).name) or PurePosixPath(folder).name
        return ranking.hints_from_folder(name, self._chapters(folder))

    def _search(self, folder: str, names: list[str]) -> SeriesMatch:
        hints = self.hints(folder)
        everything: list[Candidate] = []
        for name in names:
            client = self.client(name)
            candidates = ranking.rank(hints, client.search(hints.name))
            everything += candidates
            best = ranking.choose(candidates, self.settings.metadata_threshold)
            if best is not None:
                record = self._full(client, best.record)
                return SeriesMatch(folder, "matched", name, record.id, best.score, record.to_json(),
                                   _shown(candidates), time.time())  # fmt: skip
        everything.sort(key=lambda c: c.score, reverse=True)
        return SeriesMatch(folder, "needs_match", None, None, everything[0].score if everything else None,
                           None, _shown(everything), time.time())  # fmt: skip

    @staticmethod
    def _full(client: Client, record: SeriesRecord) -> SeriesRecord:
        """Sources whose search answer lacks credits or a publisher are asked for the record."""
        return client.record(record.id) if getattr(client, "needs_record", False) else record

    def _chapters(self, folder: str) -> int | None:
        try:
            path = resolve_inside(self.settings.watched_dir, folder)
            return (
                sum(1 for e in os.scandir(path) if e.is_file() and e.name.lower().endswith(ARCHIVES)) or None
            )
        except (OSError, ValueError):
            return None

    def _folder_lock(self, folder: str) -> threading.Lock:
        with self._lock:
            return self._folder_locks.setdefault(folder, threading.Lock())


def _shown(candidates: list[Candidate], most: int = 10) -> list[dict[str, object]]:
    return [c.to_json() for c in candidates[:most]]


def folder_of(rel: str) -> str | None:
    """A chapter's series folder (its parent), or None for a file at the library's root."""
    parent = str(PurePosixPath(rel).parent)
    return None if parent in ("", ".") else parent
