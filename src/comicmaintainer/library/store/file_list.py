"""The web page's file list (migrations 0003 to 0007): one page of rows for a search, filter and
sort, the count beside every filter, and the folders. Counts without a search come from
``file_counts``, which triggers keep exact, so they cost no scan however large the library.

A search is a case-insensitive substring of the relative path (folder and file name), decided by
LIKE (which folds ASCII letters). A new search is counted in memory by the FileList's
``PathIndex`` (``path_index.py``: every path and status, held so that a search costs a few
``str.count`` calls), which also lists the matches when they are few. The index is built from
the narrow index ``files_path_status`` (0006) on the first search, or by ``warm`` when the
server starts; until it is ready, a new search tests every path in ``files_path_status`` in SQL.

The FileList keeps the searches it counted (rows per status, and the matches' rowids when few)
for all its threads, since the server answers each request on whichever worker thread is free;
so paging and changing the filter or sort do not count again. After any commit
(``PRAGMA data_version``), the next list request, with a search or not, replays the log of
changed files (``file_changes``, 0005) into them, testing each changed path as LIKE would, and
into the path index: a running job's commits cost a short read, not a recount nor a rebuild. A
kept search is counted again after a large bulk_upsert, or when it fell too far behind the log;
the index is then built again, in a thread of its own, as it is when it holds too many changes.
Searches and replays go one at a time (a lock): each reads in a snapshot taken under the lock,
so every snapshot is at least as new as the state the kept searches and the index were brought to.
That is the invariant: a count answered is the count of one committed state, never of a mix.

The page itself is read one of two ways, whichever reads fewer rows: the known matches by rowid,
sorted; or the sort order's index walked from the start until the page is full, testing LIKE,
which is cheap when the matches are a large part of the library (1 row in 3 matching: 300 rows
read for a page of 100).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from typing import Any

from comicmaintainer.library.store.database import _READER_PRAGMAS
from comicmaintainer.library.store.files import FileRow, Status, Store, _file_row
from comicmaintainer.library.store.kept_searches import _Change, _Paths, _replayable, _Searched, _Searches
from comicmaintainer.library.store.path_index import PathIndex, like_fold

LIST_FILTERS: dict[str, Status | None] = {
    "all": None,
    "processed": Status.PROCESSED,
    "unprocessed": Status.UNPROCESSED,
    "duplicates": Status.DUPLICATE,
    "needs_attention": Status.NEEDS_ATTENTION,
}
# Every term carries the direction; rowid breaks ties (it ends every index entry, so the index
# still gives the order).
LIST_SORTS: dict[str, tuple[str, ...]] = {
    "name": ("name COLLATE NOCASE", "rowid"),
    "folder": ("folder COLLATE NOCASE", "name COLLATE NOCASE", "rowid"),
    "date": ("mtime_ns", "rowid"),
    "size": ("size", "rowid"),
}
# The index that gives each sort order: for all statuses, and (partial, 0004) for the rare ones.
_SORT_INDEX = {
    "name": "files_name",
    "folder": "files_folder_name",
    "date": "files_mtime",
    "size": "files_size",
}
_RARE_SORT_INDEX = {
    "name": "files_rare_name",
    "folder": "files_rare_folder",
    "date": "files_rare_mtime",
    "size": "files_rare_size",
}
# Written out in each query using a partial index: SQLite uses one only when the query repeats its
# WHERE term.
_RARE_STATUSES = (Status.DUPLICATE, Status.NEEDS_ATTENTION)
_RARE_CONDITION = f"status IN ('{Status.DUPLICATE}', '{Status.NEEDS_ATTENTION}')"  # as in 0004
PER_PAGE_RANGE = (10, 500)
# A filter matching fewer rows than this is read through the status index and sorted; a larger
# one walks the sort order's index and skips the other statuses, which stays cheap because they
# are then a minority. A search with no more matches than this keeps their rowids.
_SMALL_FILTER = 5000
# More changes than this since the searches were counted: counting again is as cheap.
_MAX_REPLAY = 2000
# The condition deciding a search in SQL: a page whose matches are not known, or a new search
# before the path index is ready.
_LIKE = "path LIKE :pattern ESCAPE '\\'"
# A search's rows per status in one pass, with no temporary table to group them in.
_BY_STATUS = ", ".join(f"count(*) FILTER (WHERE status = '{s.value}') AS {s.value}" for s in Status)
# About how many index entries can be read in the time of one row lookup (measured: about 12).
_INDEX_ENTRIES_PER_ROW = 10
# About how many known matches can be handed to SQLite by rowid (JSON out and in) in the time of
# reading one row to test it.
_IDS_PER_ROW = 5


@dataclass(frozen=True)
class FileQuery:
    """One request for a page of the file list; ``ValueError`` for values outside the contract."""

    page: int = 1
    per_page: int = 100
    search: str = ""
    filter: str = "all"
    sort: str = "name"
    direction: str = "asc"

    def __post_init__(self) -> None:
        low, high = PER_PAGE_RANGE
        if self.page < 1 or not low <= self.per_page <= high:
            raise ValueError(f"page must be >= 1 and per_page {low}..{high}")
        if self.filter not in LIST_FILTERS or self.sort not in LIST_SORTS:
            raise ValueError(f"unknown filter {self.filter!r} or sort {self.sort!r}")
        if self.direction not in ("asc", "desc"):
            raise ValueError(f"direction must be asc or desc, not {self.direction!r}")


@dataclass(frozen=True)
class FilePage:
    rows: list[FileRow]
    total: int  # rows matching search and filter
    counts: dict[str, int]  # filter name -> rows matching the search with that filter


class FileList:
    """The file list's reads, on a ``Store``'s read connections."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._local = threading.local()  # PRAGMA data_version as this thread's connection last saw it
        self._kept = _Searches()
        self._paths = _Paths()
        self._searching = threading.RLock()

    def page(self, query: FileQuery) -> FilePage:
        with self._searching:  # the kept search's matches must not change while the page is read
            if query.search:
                return self._page(query)
            # Any page brings the kept searches and the path index up to date, so that the next
            # new search finds them there, not a running job's thousands of changes to replay.
            self._up_to_date()
        return self._page(query)

    def _page(self, query: FileQuery) -> FilePage:
        counts = self.counts(query.search)
        total = counts[query.filter]
        status = LIST_FILTERS[query.filter]
        if total == 0:
            return FilePage(rows=[], total=0, counts=counts)
        if query.search:
            sql, params = self._search_page_sql(query, status, total)
        else:
            sql, params = _plain_page_sql(query, status, total)
        params.update(limit=query.per_page, offset=(query.page - 1) * query.per_page)
        rows = [_file_row(row) for row in self._store._read(sql, params)]
        return FilePage(rows=rows, total=total, counts=counts)

    def counts(self, search: str = "") -> dict[str, int]:
        """Rows per filter name for ``search`` ("" for all files)."""
        if not search:
            return _filter_counts(self._status_counts())
        with self._searching:
            return _filter_counts(self._searched(search).by_status)

    def folders(self) -> list[tuple[str, int]]:
        """(folder, number of files) for every folder holding files, by name ignoring case."""
        rows = self._store._read("SELECT folder, count(*) FROM files GROUP BY folder")
        return sorted(((folder, count) for folder, count in rows), key=lambda fc: (fc[0].casefold(), fc[0]))

    def warm(self) -> None:
        """Build the path index now, unless one is being built or is current: the server calls this
        at start-up, in a thread of its own. Quietly nothing once the store is closed."""
        with self._searching:
            if self._paths.building or not self._paths.stale:
                return
            self._paths.building = True
        self._build()

    def _build(self) -> None:
        """Build a path index (``building`` was set) and put it in place of the one in use.

        On a connection of its own, closed here: Store.close() closes the store's read connections,
        and one closed while another thread reads on it can crash the interpreter.
        """
        if self._store._closed:
            return  # the program is ending: nothing will be searched
        try:
            conn = self._store._connect(_READER_PRAGMAS)
            try:
                conn.execute("BEGIN")  # the rows and the log position of one state
                built = _built_index(conn)
            finally:
                conn.close()
        except sqlite3.Error:
            # Leave ``building`` set, so no other build is tried: new searches are counted by the
            # index in use, still exact, or in SQL.
            return
        with self._searching:
            self._paths.building = False
            self._paths.index, self._paths.seq = built
            self._paths.built = True

    def _searched(self, search: str) -> _Searched:
        """The search's counts and (when few) matches: counted once, then kept current."""
        self._up_to_date(search)
        return self._kept.by_query[search]

    def _up_to_date(self, search: str = "") -> None:
        """Under the lock: the kept searches and the path index brought to the last commit, and
        ``search`` (unless "") counted if it is not kept."""
        searches = self._kept
        version = self._store._reader().execute("PRAGMA data_version").fetchone()[0]
        # Unchanged since this thread last brought the searches up to date: nothing was committed
        # since, and other threads can only have brought them further.
        if version == getattr(self._local, "version", None) and (not search or search in searches.by_query):
            return
        with self._store._snapshot():  # the log position and any new count are of one state
            self._catch_up(searches)
            if search and search not in searches.by_query:
                searches.by_query[search] = self._count(search)
                searches.trim()
        self._local.version = version

    def _catch_up(self, searches: _Searches) -> None:
        """In a snapshot: bring the kept searches and the path index to the log's last entry, or
        forget what cannot be (after a reset, or entries pruned before they were read)."""
        paths = self._paths
        last = self._store._read("SELECT coalesce(max(seq), 0) FROM file_changes")[0][0]
        behind = [seq for seq, held in ((searches.seq, searches.by_query), (paths.seq, paths.index)) if held]
        log = self._log_after(min(behind)) if behind and min(behind) < last else []
        changes = _replayable(log, searches.seq, _MAX_REPLAY)
        if changes is None:
            searches.by_query.clear()
        for searched in searches.by_query.values():
            for change in changes or ():
                searched.replay(change)
        searches.seq = last
        if paths.index is not None:
            changes = _replayable(log, paths.seq, len(log))
            if changes is None:
                paths.index = None  # new searches are counted in SQL until a new one is built
            for change in changes or ():
                paths.index.apply(change.rowid, change.old, change.new)  # type: ignore[union-attr]
            paths.seq = last
        if paths.built and not paths.building and paths.stale:
            # In the background: a new search costs a count in SQL meanwhile, not the build. The
            # new index is brought up to date when it is in place.
            paths.building = True
            threading.Thread(target=self._build, name="file-list-index", daemon=True).start()

    def _log_after(self, seq: int) -> list[tuple[int, _Change | None]]:
        """The change log's entries after ``seq``, each with its change (None for a reset)."""
        cursor = self._store._reader().cursor()
        cursor.row_factory = None  # plain tuples: the log may hold thousands of entries to read
        sql = (
            "SELECT seq, file_rowid, old_path, old_status, new_path, new_status FROM file_changes"
            " WHERE seq > ? ORDER BY seq"
        )
        rows = cursor.execute(sql, (seq,)).fetchall()
        return [(row[0], None if row[1] is None else _Change.of(*row[1:])) for row in rows]

    def _count(self, search: str) -> _Searched:
        """Count ``search`` afresh: its rows per status, and its matches when few."""
        needle = like_fold(search)
        if "\0" in needle:  # no path holds one (and LIKE would read the query only up to it)
            return _Searched(needle, {}, {})
        paths = self._paths
        if not paths.built and not paths.building:
            paths.index, paths.seq = _built_index(self._store._reader())  # in this search's snapshot
            paths.built = True
        if paths.index is not None:
            found = paths.index.search(needle, _SMALL_FILTER)
            return _Searched(needle, found.by_status, found.matches)
        # The index is being built: test every path, in the narrow index. Every piece of the SQL
        # is a constant of this module; the user's text is a parameter.
        sql = f"SELECT {_BY_STATUS} FROM files INDEXED BY files_path_status WHERE {_LIKE}"  # noqa: S608  # nosec B608
        row = self._store._read(sql, _like_params(search))[0]
        return _Searched(needle, {status.value: row[status.value] for status in Status}, None)

    def _status_counts(self) -> dict[str, int]:
        return {status: n for status, n in self._store._read("SELECT status, n FROM file_counts")}

    def _search_page_sql(
        self, query: FileQuery, status: Status | None, total: int
    ) -> tuple[str, dict[str, Any]]:
        """Read the known matches and sort them, or walk the sort index, whichever reads fewer rows."""
        searched = self._searched(query.search)
        library = sum(self._status_counts().values())
        walk_cost = query.page * query.per_page * library / total  # rows read before the page is full
        # The known matches by rowid; unless they are many and a walk testing LIKE soon fills the page.
        if searched.matches is not None and total < _IDS_PER_ROW * walk_cost:
            ids = [
                rowid
                for rowid, row_status in searched.matches.items()
                if status is None or row_status == status
            ]
            # The sort index's entries end with the rowid, so walking it tests each entry without
            # reading its row: far cheaper than looking a row up to sort it.
            walk = walk_cost < _INDEX_ENTRIES_PER_ROW * len(ids)
            source = f"files INDEXED BY {_SORT_INDEX[query.sort]}" if walk else "files NOT INDEXED"
            where = ["rowid IN (SELECT value FROM json_each(:ids))"]
            return _select(source, where, query), {"ids": json.dumps(ids)}
        where, params = [_LIKE], _like_params(query.search)
        if status is not None:
            where.append("+status = :status")  # '+': never chosen as the index to read
            params["status"] = status.value
        source = f"files INDEXED BY {_SORT_INDEX[query.sort]}"
        if walk_cost >= library:  # few matches, not known: test every path, sort the matches
            source = "files INDEXED BY files_path_status"
        return _select(source, where, query), params


def _built_index(conn: sqlite3.Connection) -> tuple[PathIndex, int]:
    """In a read transaction: a new path index, and the change log entry it is current to."""
    seq = conn.execute("SELECT coalesce(max(seq), 0) FROM file_changes").fetchone()[0]
    cursor = conn.cursor()
    cursor.row_factory = None  # plain tuples: a third of the time for 100,000 rows
    rows = cursor.execute("SELECT rowid, path, status FROM files INDEXED BY files_path_status")
    return PathIndex(rows), seq


def _plain_page_sql(query: FileQuery, status: Status | None, total: int) -> tuple[str, dict[str, Any]]:
    """No search: the whole library, or one status, in the sort order's index."""
    if status is None:
        return _select("files", [], query), {}
    params: dict[str, Any] = {"status": status.value}
    if status in _RARE_STATUSES:
        source = f"files INDEXED BY {_RARE_SORT_INDEX[query.sort]}"
        return _select(source, [_RARE_CONDITION, "status = :status"], query), params
    if total < _SMALL_FILTER:
        return _select("files INDEXED BY files_status", ["status = :status"], query), params
    # '+status' hides the column from the planner, which then walks the sort index.
    return _select(f"files INDEXED BY {_SORT_INDEX[query.sort]}", ["+status = :status"], query), params


def _select(source: str, where: list[str], query: FileQuery) -> str:
    direction = " DESC" if query.direction == "desc" else ""
    order = ", ".join(term + direction for term in LIST_SORTS[query.sort])
    condition = f" WHERE {' AND '.join(where)}" if where else ""
    # Every piece is a constant of this module; values are parameters.
    return f"SELECT * FROM {source}{condition} ORDER BY {order} LIMIT :limit OFFSET :offset"  # noqa: S608  # nosec B608


def _like_params(search: str) -> dict[str, Any]:
    """The LIKE pattern of ``search``: its text anywhere, with LIKE's wildcards escaped."""
    escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return {"pattern": f"%{escaped}%"}


def _filter_counts(by_status: dict[str, int]) -> dict[str, int]:
    counts = {name: by_status.get(status.value, 0) for name, status in LIST_FILTERS.items() if status}
    counts["all"] = sum(by_status.values())
    return counts
