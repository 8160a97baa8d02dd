"""The file list's kept searches and path index, brought up to date by replaying the change log.

Invariant: a kept search's counts (and matches, when kept) are those of the database as of change
log entry ``seq``; replaying the entries after it, in order and without gaps, keeps them exact.
When entries are missing (pruned) or a reset entry is met, the search is counted again instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from comicmaintainer.library.store.path_index import PathIndex, like_fold

_COUNTS_CACHE_SIZE = 32  # searches kept; the oldest goes first
_MAX_KEPT_MATCHES = 10_000  # matches (rowid and status) kept in all
# The path index holding more changes than this (or than a tenth of the library) is built again, in
# the background: every new search also searches them (up to 2 ms for 5,000), and while a build
# runs (1-3 s at 100,000 files, giving way to requests) requests take about twice as long.
_INDEX_CHANGES = 5000


@dataclass(frozen=True)
class _Change:
    """One entry of the change log: a file before and after, as (path folded as LIKE folds it,
    status), None when it did not exist."""

    rowid: int
    old: tuple[str, str] | None
    new: tuple[str, str] | None

    @classmethod
    def of(
        cls, file_rowid: int, old_path: str | None, old_status: str, new_path: str | None, new_status: str
    ) -> _Change:
        return cls(file_rowid, _folded(old_path, old_status), _folded(new_path, new_status))


def _folded(path: str | None, status: str) -> tuple[str, str] | None:
    return None if path is None else (like_fold(path), status)


@dataclass
class _Searched:
    """What one search found, kept current by replaying changes: its rows per status, and its
    matches (rowid → status) when few."""

    needle: str  # the query as LIKE compares it
    by_status: dict[str, int]
    matches: dict[int, str] | None

    def replay(self, change: _Change) -> None:
        if change.old is not None and self.needle in change.old[0]:
            status = change.old[1]
            self.by_status[status] = self.by_status.get(status, 0) - 1
            if self.matches is not None:
                self.matches.pop(change.rowid, None)
        if change.new is not None and self.needle in change.new[0]:
            status = change.new[1]
            self.by_status[status] = self.by_status.get(status, 0) + 1
            if self.matches is not None:
                self.matches[change.rowid] = status


@dataclass
class _Searches:
    """The counted searches, all as of change log entry ``seq``."""

    seq: int = 0
    by_query: dict[str, _Searched] = field(default_factory=dict)

    def trim(self) -> None:
        """Forget the oldest searches beyond the count limit, or while too many matches are kept."""
        while len(self.by_query) > 1 and (
            len(self.by_query) > _COUNTS_CACHE_SIZE
            or sum(len(s.matches or ()) for s in self.by_query.values()) > _MAX_KEPT_MATCHES
        ):
            del self.by_query[next(iter(self.by_query))]


@dataclass
class _Paths:
    """The FileList's path index, current as of change log entry ``seq``. None until built, and
    again after a reset or after falling behind the log, until built anew."""

    index: PathIndex | None = None
    seq: int = 0
    built: bool = False  # once, by the first search or warm(); later ones in the background
    building: bool = False  # a thread is building one: new searches are counted in SQL

    @property
    def stale(self) -> bool:
        """None, or holding so many changes that every search pays for testing them."""
        if self.index is None:
            return True
        return self.index.changes > min(_INDEX_CHANGES, max(100, self.index.size // 10))


def _replayable(log: list[tuple[int, _Change | None]], seq: int, most: int) -> list[_Change] | None:
    """The changes after ``seq``; None if they cannot be replayed: pruned, a reset, or more than ``most``."""
    entries = [(entry, change) for entry, change in log if entry > seq]
    # Entries are numbered without gaps, so a missing first one was pruned before it was seen.
    if entries and entries[0][0] != seq + 1:
        return None
    changes = [change for _, change in entries]
    if len(changes) > most or None in changes:
        return None
    return changes  # type: ignore[return-value]
