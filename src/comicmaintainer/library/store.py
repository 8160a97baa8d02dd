"""The SQLite store: the only module that speaks SQL.

One database file (``CONFIG_DIR/store/comicmaintainer.db``) holds the files table, the history of
changes (for undo and for finishing interrupted work) and key-value preferences.

Concurrency: all writes go through one connection guarded by a lock, each inside
``BEGIN IMMEDIATE … COMMIT``; reads use one connection per thread. In WAL mode readers never
block the writer nor each other, so the watcher, job workers and web requests can share one
``Store``. Schema changes are numbered ``migrations/NNNN_*.sql`` files, applied in order; the
applied number is kept in ``PRAGMA user_version``.
"""

from __future__ import annotations

import json
import posixpath
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

from comicmaintainer.library.path_index import PathIndex, like_fold

# Pragmas, in one place.
# - journal_mode=WAL: readers see a consistent snapshot while the single writer commits.
# - synchronous=NORMAL: with WAL a crash of the program loses nothing committed; a power cut may
#   lose the last commits but never corrupts the file. The library's files are the truth anyway.
# - foreign_keys=ON: SQLite leaves them off unless asked, per connection.
# - busy_timeout: another process (the CLI next to the server) may hold the write lock briefly;
#   wait for it instead of failing with "database is locked".
_BUSY_TIMEOUT_MS = 30_000
_CONNECTION_PRAGMAS = (
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}",
)
_WRITER_PRAGMAS = ("PRAGMA journal_mode=WAL",)  # stored in the file; set once by the writer
_READER_PRAGMAS = ("PRAGMA query_only=ON",)  # a read connection can never write by mistake

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class StoreError(Exception):
    """The database cannot be used (closed, or made by a newer version); one plain line."""


class _Connection(sqlite3.Connection):
    """A plain connection that, unlike the C type, can be weakly referenced."""


class Status(StrEnum):
    UNPROCESSED = "unprocessed"
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    NEEDS_ATTENTION = "needs_attention"


class ActionState(StrEnum):
    PENDING = "pending"  # recorded before the change on disk; left over only if the program died
    DONE = "done"
    UNDONE = "undone"
    ROLLED_BACK = "rolled_back"


@dataclass(frozen=True)
class FileRow:
    """One library file as the store knows it. ``folder`` and ``name`` always follow ``path``."""

    path: str
    folder: str = ""
    name: str = ""
    size: int = 0
    mtime_ns: int = 0
    inode: int = 0
    status: Status = Status.UNPROCESSED
    error: str | None = None
    content_id: str | None = None
    duplicate_of: str | None = None
    manual_edit: bool = False
    updated_at: float = 0.0

    def __post_init__(self) -> None:
        folder, name = split_path(self.path)
        if (self.folder and self.folder != folder) or (self.name and self.name != name):
            raise ValueError(f"folder/name {self.folder!r}/{self.name!r} do not match path {self.path!r}")
        object.__setattr__(self, "folder", folder)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "status", Status(self.status))


@dataclass(frozen=True)
class Action:
    """One recorded change, for history and undo."""

    id: int
    at: float
    kind: str
    old_path: str | None
    new_path: str | None
    old_xml: bytes | None
    new_xml: bytes | None
    state: ActionState


def split_path(path: str) -> tuple[str, str]:
    """``"a/b/c.cbz"`` → ``("a/b", "c.cbz")``; a file at the root has folder ``""``."""
    if not path or path.startswith("/") or path.endswith("/"):
        raise ValueError(f"{path!r} is not a relative file path")
    folder, name = posixpath.split(path)
    return folder, name


class Store:
    """Files, history and preferences in one SQLite file. Safe to share between threads."""

    def __init__(self, db_path: Path) -> None:
        self._db_path = Path(db_path)
        self._db_path.parent.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.Lock()
        self._local = threading.local()
        # Weak: a thread's read connection closes when the thread ends and its local storage goes.
        self._readers: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._readers_lock = threading.Lock()
        self._closed = False
        self._writer = self._connect(_WRITER_PRAGMAS)
        try:
            _back_up_before_upgrade(self._writer, self._db_path)
            _migrate(self._writer)
        except BaseException:
            self._writer.close()
            raise

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every connection; further calls raise ``StoreError``."""
        with self._write_lock, self._readers_lock:
            if self._closed:
                return
            self._closed = True
            for conn in list(self._readers):
                conn.close()
            self._readers.clear()
            self._writer.close()

    # -- connections -------------------------------------------------------------------------

    def _connect(self, extra_pragmas: Iterable[str]) -> _Connection:
        # isolation_level=None: no implicit transactions; writes open BEGIN IMMEDIATE themselves.
        # check_same_thread=False: the writer is shared under a lock, and close() may run elsewhere.
        conn = sqlite3.connect(
            self._db_path, isolation_level=None, check_same_thread=False, factory=_Connection
        )
        conn.row_factory = sqlite3.Row  # rows are read by column name, so added columns break nothing
        for pragma in (*_CONNECTION_PRAGMAS, *extra_pragmas):
            conn.execute(pragma)
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn: _Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            with self._readers_lock:
                if self._closed:
                    raise StoreError(f"the store {self._db_path} is closed")
                conn = self._connect(_READER_PRAGMAS)
                self._readers.add(conn)
            self._local.conn = conn
        elif self._closed:
            raise StoreError(f"the store {self._db_path} is closed")
        return conn

    def _read(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        # fetchall at once: an unfinished cursor would keep a read snapshot open.
        return self._reader().execute(sql, params).fetchall()

    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        """This thread's reads inside see one state of the database (one read transaction)."""
        conn = self._reader()
        conn.execute("BEGIN")
        try:
            yield
        finally:
            conn.execute("COMMIT")  # it only read: nothing to keep or undo

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on the single write connection."""
        with self._write_lock:
            if self._closed:
                raise StoreError(f"the store {self._db_path} is closed")
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # -- files -------------------------------------------------------------------------------

    def get_file(self, path: str) -> FileRow | None:
        rows = self._read("SELECT * FROM files WHERE path = ?", (path,))
        return _file_row(rows[0]) if rows else None

    def files(self, status: str | None = None) -> list[FileRow]:
        """All files (or those with ``status``), ordered by path."""
        if status is None:
            rows = self._read("SELECT * FROM files ORDER BY path")
        else:
            rows = self._read("SELECT * FROM files WHERE status = ? ORDER BY path", (Status(status).value,))
        return [_file_row(row) for row in rows]

    def upsert_file(self, row: FileRow) -> None:
        """Insert or replace one row; ``updated_at`` is set to now."""
        self.bulk_upsert([row])

    def bulk_upsert(self, rows: Iterable[FileRow]) -> None:
        """Insert or replace many rows in one transaction."""
        batch = list(rows)
        now = time.time()
        with self._write() as conn:
            # A small batch goes through the change log like any write; a large one (a first scan)
            # stays out of it and resets the readers' kept searches.
            paused = _change_log_paused(conn) if len(batch) >= _BULK_ROWS else nullcontext()
            with paused:
                conn.executemany(_UPSERT_SQL, (_file_params(row, now) for row in batch))

    def mark(
        self,
        path: str,
        *,
        status: Status | str,
        size: int | None = None,
        mtime_ns: int | None = None,
        inode: int | None = None,
        error: str | None = None,
        content_id: str | None = None,
        duplicate_of: str | None = None,
        manual_edit: bool | None = None,
    ) -> None:
        """Set a file's status and the given fields, inserting the row if missing.

        ``error`` is always written as given (None clears it). Other fields left as None keep
        their stored value, except ``duplicate_of``, which is cleared whenever the status is not
        ``duplicate`` so it never points at a stale original.
        """
        folder, name = split_path(path)
        params = {
            "path": path,
            "folder": folder,
            "name": name,
            "status": Status(status).value,
            "size": size,
            "mtime_ns": mtime_ns,
            "inode": inode,
            "error": error,
            "content_id": content_id,
            "duplicate_of": duplicate_of if Status(status) is Status.DUPLICATE else None,
            "manual_edit": None if manual_edit is None else int(manual_edit),
            "now": time.time(),
        }
        with self._write() as conn:
            conn.execute(_MARK_SQL, params)

    def move_file(self, old: str, new: str) -> None:
        """Give the row at ``old`` the path ``new`` (replacing any row there); no-op if ``old`` is unknown."""
        if old == new:
            return
        folder, name = split_path(new)
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM files WHERE path = ?", (old,)).fetchone() is None:
                return
            conn.execute("DELETE FROM files WHERE path = ?", (new,))
            conn.execute(
                "UPDATE files SET path = ?, folder = ?, name = ?, updated_at = ? WHERE path = ?",
                (new, folder, name, time.time(), old),
            )
            conn.execute("UPDATE files SET duplicate_of = ? WHERE duplicate_of = ?", (new, old))

    def move_prefix(self, old_folder: str, new_folder: str) -> int:
        """A folder was renamed: move every row under ``old_folder/`` below ``new_folder/``.

        Rows already at a target path are replaced. Returns how many rows moved.
        """
        _check_folder_move(old_folder, new_folder)
        params = {"old": old_folder, "new": new_folder, "cut": len(old_folder) + 1, "now": time.time()}
        with self._write() as conn:
            # Every path strictly under folder :old is > 'old/' and < 'old0' ('0' follows '/'): the
            # primary key index serves the range, and, unlike LIKE, '_' and '%' are plain characters.
            conn.execute(
                "DELETE FROM files WHERE path IN (SELECT :new || substr(path, :cut) FROM files"
                " WHERE path > :old || '/' AND path < :old || '0')",
                params,
            )
            moved = conn.execute(
                "UPDATE files SET path = :new || substr(path, :cut), folder = :new || substr(folder, :cut),"
                " updated_at = :now WHERE path > :old || '/' AND path < :old || '0'",
                params,
            ).rowcount
            conn.execute(
                "UPDATE files SET duplicate_of = :new || substr(duplicate_of, :cut)"
                " WHERE duplicate_of > :old || '/' AND duplicate_of < :old || '0'",
                params,
            )
        return moved

    def delete_file(self, path: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM files WHERE path = ?", (path,))

    def delete_missing(self, present: set[str]) -> int:
        """Delete every row whose path is not in ``present``; returns how many were deleted."""
        with self._write() as conn:
            known = {row[0] for row in conn.execute("SELECT path FROM files")}
            gone = known - present
            conn.executemany("DELETE FROM files WHERE path = ?", ((path,) for path in gone))
        return len(gone)

    def all_fingerprints(self) -> dict[str, tuple[int, int, int]]:
        """path → (size, mtime_ns, inode) for every file: lets a scan skip unchanged files."""
        rows = self._read("SELECT path, size, mtime_ns, inode FROM files")
        return {path: (size, mtime_ns, inode) for path, size, mtime_ns, inode in rows}

    def counts(self) -> dict[str, int]:
        """Files per status (every status present, zero if none) plus ``"all"``."""
        result = {status.value: 0 for status in Status}
        for status, count in self._read("SELECT status, count(*) FROM files GROUP BY status"):
            result[status] = count
        result["all"] = sum(result.values())
        return result

    def row_counts(self) -> dict[str, int]:
        """Rows kept per kind of record: files, history actions, jobs and job items."""
        (row,) = self._read(
            "SELECT (SELECT count(*) FROM files), (SELECT count(*) FROM actions),"
            " (SELECT count(*) FROM jobs), (SELECT count(*) FROM job_items)"
        )
        return dict(zip(("files", "actions", "jobs", "job_items"), row, strict=True))

    # -- history -----------------------------------------------------------------------------

    def record_action(
        self,
        kind: str,
        old_path: str | None,
        new_path: str | None,
        old_xml: bytes | None,
        new_xml: bytes | None,
        state: ActionState | str = ActionState.DONE,
    ) -> int:
        """Store one change; returns its id."""
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO actions (at, kind, old_path, new_path, old_xml, new_xml, state)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (time.time(), kind, old_path, new_path, old_xml, new_xml, ActionState(state).value),
            )
            action_id = cursor.lastrowid
        assert action_id is not None  # an INSERT into a rowid table always sets it
        return action_id

    def set_action_state(self, action_id: int, state: ActionState | str) -> None:
        with self._write() as conn:
            conn.execute("UPDATE actions SET state = ? WHERE id = ?", (ActionState(state).value, action_id))

    def get_action(self, action_id: int) -> Action | None:
        rows = self._read("SELECT * FROM actions WHERE id = ?", (action_id,))
        return _action(rows[0]) if rows else None

    def list_actions(self, limit: int = 50) -> list[Action]:
        """The newest ``limit`` actions, newest first."""
        rows = self._read("SELECT * FROM actions ORDER BY id DESC LIMIT ?", (limit,))
        return [_action(row) for row in rows]

    def pending_actions(self) -> list[Action]:
        """Actions recorded but never finished (the program stopped mid-change), oldest first."""
        rows = self._read("SELECT * FROM actions WHERE state = 'pending' ORDER BY id")
        return [_action(row) for row in rows]

    # -- key-value preferences ---------------------------------------------------------------

    def get_kv(self, scope: str) -> dict[str, Any]:
        rows = self._read("SELECT key, value FROM kv WHERE scope = ? ORDER BY key", (scope,))
        return {key: json.loads(value) for key, value in rows}

    def set_kv(self, scope: str, key: str, value: Any) -> None:
        """Store a JSON-serialisable ``value`` under ``scope``/``key``."""
        text = json.dumps(value)
        with self._write() as conn:
            conn.execute(
                "INSERT INTO kv (scope, key, value) VALUES (?, ?, ?)"
                " ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value",
                (scope, key, text),
            )

    def delete_kv(self, scope: str, key: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM kv WHERE scope = ? AND key = ?", (scope, key))


_UPSERT_SQL = """
INSERT INTO files (path, folder, name, size, mtime_ns, inode, status, error, content_id, duplicate_of,
                   manual_edit, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (path) DO UPDATE SET
    size = excluded.size, mtime_ns = excluded.mtime_ns, inode = excluded.inode,
    status = excluded.status, error = excluded.error, content_id = excluded.content_id,
    duplicate_of = excluded.duplicate_of, manual_edit = excluded.manual_edit,
    updated_at = excluded.updated_at
"""

_MARK_SQL = """
INSERT INTO files (path, folder, name, size, mtime_ns, inode, status, error, content_id, duplicate_of,
                   manual_edit, updated_at)
VALUES (:path, :folder, :name, coalesce(:size, 0), coalesce(:mtime_ns, 0), coalesce(:inode, 0),
        :status, :error, :content_id, :duplicate_of, coalesce(:manual_edit, 0), :now)
ON CONFLICT (path) DO UPDATE SET
    status = :status, error = :error, updated_at = :now,
    size = coalesce(:size, size), mtime_ns = coalesce(:mtime_ns, mtime_ns), inode = coalesce(:inode, inode),
    content_id = coalesce(:content_id, content_id),
    duplicate_of = CASE WHEN :status = 'duplicate' THEN coalesce(:duplicate_of, duplicate_of) END,
    manual_edit = coalesce(:manual_edit, manual_edit)
"""


def _file_params(row: FileRow, now: float) -> tuple[Any, ...]:
    return (
        row.path,
        row.folder,
        row.name,
        row.size,
        row.mtime_ns,
        row.inode,
        row.status.value,
        row.error,
        row.content_id,
        row.duplicate_of,
        int(row.manual_edit),
        now,
    )


def _file_row(row: sqlite3.Row) -> FileRow:
    return FileRow(
        path=row["path"],
        folder=row["folder"],
        name=row["name"],
        size=row["size"],
        mtime_ns=row["mtime_ns"],
        inode=row["inode"],
        status=Status(row["status"]),
        error=row["error"],
        content_id=row["content_id"],
        duplicate_of=row["duplicate_of"],
        manual_edit=bool(row["manual_edit"]),
        updated_at=row["updated_at"],
    )


def _action(row: sqlite3.Row) -> Action:
    return Action(
        id=row["id"],
        at=row["at"],
        kind=row["kind"],
        old_path=row["old_path"],
        new_path=row["new_path"],
        old_xml=row["old_xml"],
        new_xml=row["new_xml"],
        state=ActionState(row["state"]),
    )


def _check_folder_move(old_folder: str, new_folder: str) -> None:
    for folder in (old_folder, new_folder):
        if not folder or folder.startswith("/") or folder.endswith("/"):
            raise ValueError(f"{folder!r} is not a relative folder path")
    if new_folder == old_folder or new_folder.startswith(old_folder + "/"):
        raise ValueError(f"cannot move folder {old_folder!r} into itself ({new_folder!r})")


# -- migrations --------------------------------------------------------------------------------


def _migrations() -> list[tuple[int, str, str]]:
    """(number, file name, SQL) for every migration shipped with the package, in order."""
    found: list[tuple[int, str, str]] = []
    folder = resources.files("comicmaintainer.library") / "migrations"
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [number for number, _, _ in found]
    if numbers != list(range(1, len(found) + 1)):
        raise StoreError(f"migrations must be numbered 0001, 0002 … without gaps, found {numbers}")
    return found


BACKUPS_KEPT = 3


def _back_up_before_upgrade(conn: sqlite3.Connection, db_path: Path) -> None:
    """An upgrade that will migrate an existing database first copies it (SQLite's online backup,
    consistent even while another process writes) to ``<db>.pre-<N>.bak``, keeping the last few."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    newest = len(_migrations())
    if current == 0 or current >= newest:
        return  # a new database has nothing to lose; an up-to-date one needs no migration
    target = db_path.with_name(f"{db_path.name}.pre-{newest:04d}.bak")
    backup = sqlite3.connect(target)
    try:
        conn.backup(backup)
    finally:
        backup.close()
    for old in sorted(db_path.parent.glob(f"{db_path.name}.pre-*.bak"))[:-BACKUPS_KEPT]:
        old.unlink()


def _migrate(conn: sqlite3.Connection) -> None:
    """Apply every migration newer than the database's ``user_version``, each in its own transaction.

    The version is read inside the write transaction, so two processes starting at once cannot
    both apply the same migration.
    """
    migrations = _migrations()
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            if current > len(migrations):
                raise StoreError(
                    f"the database is at schema version {current} but this program knows only"
                    f" {len(migrations)}; it was made by a newer version"
                )
            if current < len(migrations):
                number, _name, sql = migrations[current]
                for statement in _statements(sql):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        if current == len(migrations):
            return


def _statements(sql: str) -> Iterator[str]:
    """Split a script into statements at the semicolons SQLite itself sees as statement ends.

    (``executescript`` would be simpler but commits on its own, outside our transaction.)
    """
    start = 0
    for index, char in enumerate(sql):
        if char == ";" and sqlite3.complete_statement(sql[start : index + 1]):
            yield sql[start : index + 1]
            start = index + 1


# --- jobs ---
# Batch jobs and their items (migration 0002). The engine (jobs/engine.py) owns the rules; these
# are its reads and writes. Item stages between the claim and the outcome live in the engine's
# memory only: a claimed item is stored as 'reading', which is all a restart needs to know.

ACTIVE_ITEM_STATUSES = ("reading", "tagging", "renaming")


@dataclass(frozen=True)
class JobRow:
    id: int
    kind: str
    scope: str
    source: str
    priority: int
    status: str
    tags: dict[str, str]
    total: int
    processed: int
    succeeded: int
    failed: int
    skipped: int
    current_file: str | None
    stage: str | None
    eta_seconds: float | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    retry_of: int | None


@dataclass(frozen=True)
class JobItemRow:
    id: int
    job_id: int
    path: str
    status: str
    error: str | None
    result: dict[str, Any] | None
    attempts: int


@dataclass(frozen=True)
class NewJob:
    """What ``JobStore.create_job`` stores. ``select`` fills the items from the files table instead
    of ``paths`` ("all" or "unprocessed"); ``refused`` items are stored as failed with their error."""

    kind: str
    scope: str
    source: str
    priority: int
    tags: dict[str, str]
    paths: tuple[str, ...] = ()
    refused: tuple[tuple[str, str], ...] = ()
    select: str | None = None
    retry_of: int | None = None


class JobStore:
    """Jobs and job items on a ``Store``'s connections (same single writer, same readers)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def create_job(self, job: NewJob) -> int:
        """Store the job and every item in one transaction; returns the job id."""
        now = time.time()
        with self._store._write() as conn:
            job_id = conn.execute(
                "INSERT INTO jobs (kind, scope, source, priority, tags, created_at, retry_of)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (job.kind, job.scope, job.source, job.priority, json.dumps(job.tags), now, job.retry_of),
            ).lastrowid
            assert job_id is not None
            if job.select is not None:
                conn.execute(_FILL_ITEMS_SQL[job.select], (job_id, job.priority))
            conn.executemany(
                "INSERT INTO job_items (job_id, priority, path) VALUES (?, ?, ?)",
                ((job_id, job.priority, path) for path in job.paths),
            )
            conn.executemany(
                "INSERT INTO job_items (job_id, priority, path, status, error, finished_at)"
                " VALUES (?, ?, ?, 'failed', ?, ?)",
                ((job_id, job.priority, path, error, now) for path, error in job.refused),
            )
            conn.execute(
                "UPDATE jobs SET total = (SELECT count(*) FROM job_items WHERE job_id = :id) WHERE id = :id",
                {"id": job_id},
            )
        return job_id

    def get_job(self, job_id: int) -> JobRow | None:
        rows = self._store._read("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return _job_row(rows[0]) if rows else None

    def list_jobs(self, status: str | None = None, limit: int = 50) -> list[JobRow]:
        """Newest first."""
        if status is None:
            rows = self._store._read("SELECT * FROM jobs ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = self._store._read(
                "SELECT * FROM jobs WHERE status = ? ORDER BY id DESC LIMIT ?", (status, limit)
            )
        return [_job_row(row) for row in rows]

    def unfinished_jobs(self) -> list[JobRow]:
        """Jobs some item of which may still run (finished_at is NULL), oldest first."""
        rows = self._store._read("SELECT * FROM jobs WHERE finished_at IS NULL ORDER BY id")
        return [_job_row(row) for row in rows]

    def list_items(self, job_id: int, status: str | None = None, limit: int = 500) -> list[JobItemRow]:
        """In queue order."""
        sql = "SELECT * FROM job_items WHERE job_id = ?"
        params: tuple[Any, ...] = (job_id,)
        if status is not None:
            sql += " AND status = ?"
            params += (status,)
        rows = self._store._read(sql + " ORDER BY id LIMIT ?", (*params, limit))
        return [_job_item_row(row) for row in rows]

    def item_counts(self, job_id: int) -> dict[str, int]:
        """Items of the job per status (only statuses present)."""
        rows = self._store._read(
            "SELECT status, count(*) FROM job_items WHERE job_id = ? GROUP BY status", (job_id,)
        )
        return {status: count for status, count in rows}

    def requeue_interrupted(self) -> int:
        """Items a dead process had claimed go back to the queue (their attempt count stays raised)."""
        with self._store._write() as conn:
            return conn.execute(
                "UPDATE job_items SET status = 'queued' WHERE status IN ('reading', 'tagging', 'renaming')"
                " AND job_id IN (SELECT id FROM jobs WHERE finished_at IS NULL)"
            ).rowcount

    def claim_next_item(self) -> JobItemRow | None:
        """Take the first queued item (priority, then job, then item order) and mark it 'reading'."""
        now = time.time()
        with self._store._write() as conn:
            row = conn.execute(
                "SELECT id, job_id FROM job_items WHERE status = 'queued'"
                " ORDER BY priority, job_id, id LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            claimed = conn.execute(
                "UPDATE job_items SET status = 'reading', attempts = attempts + 1, started_at = ?"
                " WHERE id = ? RETURNING *",
                (now, row["id"]),
            ).fetchall()[0]  # fetchall: the statement must be finished before COMMIT
            conn.execute(
                "UPDATE jobs SET status = CASE WHEN status = 'queued' THEN 'running' ELSE status END,"
                " started_at = coalesce(started_at, ?) WHERE id = ?",
                (now, row["job_id"]),
            )
        return _job_item_row(claimed)

    def finish_item(
        self, item_id: int, status: str, error: str | None, result: dict[str, Any] | None
    ) -> None:
        text = None if result is None else json.dumps(result, default=str)
        with self._store._write() as conn:
            conn.execute(
                "UPDATE job_items SET status = ?, error = ?, result = ?, finished_at = ? WHERE id = ?",
                (status, error, text, time.time(), item_id),
            )

    def cancel_queued(self, job_id: int) -> int:
        """Mark the job cancelled and its not yet started items cancelled; returns how many items."""
        now = time.time()
        with self._store._write() as conn:
            conn.execute(
                "UPDATE jobs SET status = 'cancelled' WHERE id = ? AND finished_at IS NULL", (job_id,)
            )
            return conn.execute(
                "UPDATE job_items SET status = 'cancelled', finished_at = ?"
                " WHERE job_id = ? AND status = 'queued'",
                (now, job_id),
            ).rowcount

    def save_progress(self, job_id: int, progress: dict[str, Any]) -> None:
        """Write a job's counters, position and status; ``progress`` holds every JOB_PROGRESS_COLUMNS key."""
        params = {name: progress[name] for name in JOB_PROGRESS_COLUMNS}
        with self._store._write() as conn:
            conn.execute(_SAVE_PROGRESS_SQL, {**params, "id": job_id})

    def delete_job(self, job_id: int) -> bool:
        """Delete a finished job and its items; False if there is no such finished job."""
        with self._store._write() as conn:
            deleted = conn.execute("DELETE FROM jobs WHERE id = ? AND finished_at IS NOT NULL", (job_id,))
            return deleted.rowcount > 0

    def purge_jobs(self, finished_before: float) -> int:
        """Delete jobs that finished before the given time (epoch seconds); returns how many."""
        with self._store._write() as conn:
            return conn.execute(
                "DELETE FROM jobs WHERE finished_at IS NOT NULL AND finished_at < ?", (finished_before,)
            ).rowcount

    def actions_from(self, path: str, since: float) -> list[Action]:
        """Pending or done actions recorded since ``since`` on the file at ``path``, newest first.

        Lets a resumed job see what its interrupted run already did (a rename, a tag write).
        """
        rows = self._store._read(
            "SELECT * FROM actions WHERE old_path = ? AND state IN ('pending', 'done') AND at >= ?"
            " ORDER BY id DESC",
            (path, since),
        )
        return [_action(row) for row in rows]


JOB_PROGRESS_COLUMNS = (
    "status", "processed", "succeeded", "failed", "skipped", "current_file", "stage", "eta_seconds",
    "finished_at",
)  # fmt: skip
_SAVE_PROGRESS_SQL = """
UPDATE jobs SET status = :status, processed = :processed, succeeded = :succeeded, failed = :failed,
    skipped = :skipped, current_file = :current_file, stage = :stage, eta_seconds = :eta_seconds,
    finished_at = :finished_at
WHERE id = :id
"""
_FILL_ITEMS_SQL = {
    "all": "INSERT INTO job_items (job_id, priority, path) SELECT ?, ?, path FROM files ORDER BY path",
    "unprocessed": "INSERT INTO job_items (job_id, priority, path)"
    " SELECT ?, ?, path FROM files WHERE status = 'unprocessed' ORDER BY path",
}


_JOB_ROW_FIELDS = tuple(JobRow.__dataclass_fields__)


def _job_row(row: sqlite3.Row) -> JobRow:
    # Named columns, not row.keys(): a later migration may add columns JobRow does not have.
    values = {name: row[name] for name in _JOB_ROW_FIELDS}
    values["tags"] = json.loads(row["tags"])
    return JobRow(**values)


def _job_item_row(row: sqlite3.Row) -> JobItemRow:
    result = row["result"]
    return JobItemRow(
        id=row["id"],
        job_id=row["job_id"],
        path=row["path"],
        status=row["status"],
        error=row["error"],
        result=None if result is None else json.loads(result),
        attempts=row["attempts"],
    )


# --- file list ---
# The web page's file list (migrations 0003 to 0007): one page of rows for a search, filter and sort,
# the count beside every filter, and the folders. Counts without a search come from
# ``file_counts``, which triggers keep exact, so they cost no scan however large the library.
#
# A search is a case-insensitive substring of the relative path (folder and file name), decided by
# LIKE (which folds ASCII letters). A new search is counted in memory by the FileList's
# ``PathIndex`` (library/path_index.py: every path and status, held so that a search costs a few
# ``str.count`` calls), which also lists the matches when they are few. The index is built from
# the narrow index ``files_path_status`` (0006) on the first search, or by ``warm`` when the
# server starts; until it is ready, a new search tests every path in ``files_path_status`` in SQL.
#
# The FileList keeps the searches it counted (rows per status, and the matches' rowids when few)
# for all its threads, since the server answers each request on whichever worker thread is free;
# so paging and changing the filter or sort do not count again. After any commit
# (``PRAGMA data_version``), the next list request, with a search or not, replays the log of
# changed files (``file_changes``, 0005) into them, testing each changed path as LIKE would, and
# into the path index: a running job's commits cost a short read, not a recount nor a rebuild. A
# kept search is counted again after a large bulk_upsert, or when it fell too far behind the log;
# the index is then built again, in a thread of its own, as it is when it holds too many changes.
# Searches and replays go one at a time (a lock): each reads in a snapshot taken under the lock,
# so every snapshot is at least as new as the state the kept searches and the index were brought to.
#
# The page itself is read one of two ways, whichever reads fewer rows: the known matches by rowid,
# sorted; or the sort order's index walked from the start until the page is full, testing LIKE,
# which is cheap when the matches are a large part of the library (1 row in 3 matching: 300 rows
# read for a page of 100).

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
_RARE_CONDITION = "status IN ('duplicate', 'needs_attention')"
_RARE_STATUSES = (Status.DUPLICATE, Status.NEEDS_ATTENTION)
PER_PAGE_RANGE = (10, 500)
# A filter matching fewer rows than this is read through the status index and sorted; a larger
# one walks the sort order's index and skips the other statuses, which stays cheap because they
# are then a minority. A search with no more matches than this keeps their rowids.
_SMALL_FILTER = 5000
_COUNTS_CACHE_SIZE = 32  # searches kept; the oldest goes first
_MAX_KEPT_MATCHES = 10_000  # matches (rowid and status) kept in all
# More changes than this since the searches were counted: counting again is as cheap.
_MAX_REPLAY = 2000
# The path index holding more changes than this (or than a tenth of the library) is built again, in
# the background: every new search also searches them (up to 2 ms for 5,000), and while a build
# runs (1-3 s at 100,000 files, giving way to requests) requests take about twice as long.
_INDEX_CHANGES = 5000
# A bulk_upsert of this many rows is left out of the change log (a first scan would write one entry
# per file) and resets every kept search and the path index instead.
_BULK_ROWS = 1000
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


@contextmanager
def _change_log_paused(conn: sqlite3.Connection) -> Iterator[None]:
    """Within a write transaction: the rows written meanwhile stay out of the change log (0005),
    which gets one reset entry instead, so readers count again. Store.bulk_upsert's hook for a large
    batch (a first scan would write one entry per file). On an error nothing is done here: the
    caller's rollback also undoes the flag.
    """
    conn.execute("UPDATE file_search_state SET paused = 1")
    yield
    conn.execute("UPDATE file_search_state SET paused = 0")
    conn.execute("INSERT INTO file_changes (file_rowid) VALUES (NULL)")  # readers count again
