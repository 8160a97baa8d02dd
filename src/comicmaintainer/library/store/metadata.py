"""SQL for series metadata: each series folder's match or pin, and the sources' cached answers.

On the store's own connections (its single writer, its per-thread readers), like ``JobStore``.
Tables from migration 0008_metadata.sql.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from comicmaintainer.library.store.files import Store

MatchStatus = Literal["matched", "pinned", "needs_match"]


@dataclass(frozen=True)
class SeriesMatch:
    folder: str
    status: MatchStatus
    source: str | None
    source_id: str | None
    score: float | None
    record: dict[str, Any] | None
    candidates: list[dict[str, Any]]
    updated_at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "folder": self.folder, "status": self.status, "source": self.source,
            "source_id": self.source_id, "score": self.score, "record": self.record,
            "candidates": self.candidates, "updated_at": self.updated_at,
        }  # fmt: skip


class MetadataStore:
    """Matches, pins and the response cache (the cache object `metadata.http` expects)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # -- matches and pins ------------------------------------------------------------------------

    def get_match(self, folder: str) -> SeriesMatch | None:
        rows = self._store._read("SELECT * FROM series_matches WHERE folder = ?", (folder,))
        return _match(rows[0]) if rows else None

    def matches(self, status: str | None = None, limit: int = 1000) -> list[SeriesMatch]:
        rows = self._store._read(
            "SELECT * FROM series_matches WHERE ? IS NULL OR status = ? ORDER BY folder LIMIT ?",
            (status, status, limit),
        )
        return [_match(row) for row in rows]

    def save_match(self, match: SeriesMatch) -> None:
        """Store a match; a pin is never replaced by a search's result (only `clear` removes it)."""
        with self._store._write() as conn:
            conn.execute(
                "INSERT INTO series_matches (folder, status, source, source_id, score, record, candidates,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (folder) DO UPDATE SET status = excluded.status, source = excluded.source,"
                " source_id = excluded.source_id, score = excluded.score, record = excluded.record,"
                " candidates = excluded.candidates, updated_at = excluded.updated_at"
                " WHERE series_matches.status != 'pinned' OR excluded.status = 'pinned'",
                (
                    match.folder, match.status, match.source, match.source_id, match.score,
                    None if match.record is None else json.dumps(match.record),
                    json.dumps(match.candidates), time.time(),
                ),
            )  # fmt: skip

    def clear(self, folder: str) -> bool:
        """Forget a series' match or pin (the next match job searches again); True if there was one."""
        with self._store._write() as conn:
            return conn.execute("DELETE FROM series_matches WHERE folder = ?", (folder,)).rowcount > 0

    # -- a person's own edits --------------------------------------------------------------------

    def edits_of(self, path: str) -> Iterator[tuple[bytes | None, bytes | None]]:
        """(old, new) ComicInfo.xml of every edit a person made to ``path`` that still stands."""
        rows = self._store._read(
            "SELECT old_xml, new_xml FROM actions WHERE kind = 'edit' AND state = 'done' AND new_path = ?"
            " ORDER BY id",
            (path,),
        )
        for row in rows:
            yield row["old_xml"], row["new_xml"]

    # -- the response cache ----------------------------------------------------------------------

    def get(self, key: str) -> Any | None:
        rows = self._store._read(
            "SELECT body FROM metadata_cache WHERE key = ? AND expires_at > ?", (key, time.time())
        )
        return json.loads(rows[0]["body"]) if rows else None

    def put(self, key: str, source: str, value: Any, ttl: float) -> None:
        with self._store._write() as conn:
            conn.execute(
                "INSERT INTO metadata_cache (key, source, body, expires_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET body = excluded.body, expires_at = excluded.expires_at",
                (key, source, json.dumps(value), time.time() + ttl),
            )

    def purge_expired(self) -> int:
        with self._store._write() as conn:
            return conn.execute("DELETE FROM metadata_cache WHERE expires_at <= ?", (time.time(),)).rowcount


def _match(row: Any) -> SeriesMatch:
    return SeriesMatch(
        folder=row["folder"], status=row["status"], source=row["source"], source_id=row["source_id"],
        score=row["score"], record=json.loads(row["record"]) if row["record"] else None,
        candidates=json.loads(row["candidates"]), updated_at=row["updated_at"],
    )  # fmt: skip
