"""The database: one SQLite file, one writer, per-thread readers, migrations and backups.

Every other module of this package reads and writes through a ``Database``'s ``_read``,
``_snapshot`` and ``_write``; nothing outside the package speaks SQL.

Concurrency: all writes go through one connection guarded by a lock, each inside
``BEGIN IMMEDIATE … COMMIT``; reads use one connection per thread. In WAL mode readers never
block the writer nor each other, so the watcher, job workers and web requests can share one
``Store``. Schema changes are numbered ``library/migrations/NNNN_*.sql`` files, applied in order;
the applied number is kept in ``PRAGMA user_version``. Invariant: a write happens only inside
``_write`` (one transaction, on the one write connection); a read connection is ``query_only``.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, Self

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


class Database:
    """The connections to one SQLite file. Safe to share between threads."""

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

    def __enter__(self) -> Self:
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
