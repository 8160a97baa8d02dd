"""Files: one row per library file (path, fingerprint, status), and key-value preferences.

Invariant: a row's ``folder`` and ``name`` always follow its ``path``, and ``duplicate_of`` is
set only while the status is ``duplicate``. Triggers (migrations 0003 and 0005) keep the file
list's counts and change log in step with every write here.
"""

from __future__ import annotations

import json
import posixpath
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from comicmaintainer.library.store.history import History
from comicmaintainer.library.store.statuses import Status


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


def split_path(path: str) -> tuple[str, str]:
    """``"a/b/c.cbz"`` → ``("a/b", "c.cbz")``; a file at the root has folder ``""``."""
    if not path or path.startswith("/") or path.endswith("/"):
        raise ValueError(f"{path!r} is not a relative file path")
    folder, name = posixpath.split(path)
    return folder, name


class Store(History):
    """Files, history and preferences in one SQLite file. Safe to share between threads."""

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
            "duplicate": Status.DUPLICATE.value,
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

        Rows already at a target path are replaced. Returns how many rows moved. A series' match or
        pin (``series_matches``, kept by folder) moves with its folder in the same transaction: a
        person's pin is their decision, and moving a folder must not undo it.
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
            conn.execute(
                "UPDATE OR REPLACE series_matches SET folder = :new || substr(folder, :cut)"
                " WHERE folder = :old OR (folder > :old || '/' AND folder < :old || '0')",
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
    duplicate_of = CASE WHEN :status = :duplicate THEN coalesce(:duplicate_of, duplicate_of) END,
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


def _check_folder_move(old_folder: str, new_folder: str) -> None:
    for folder in (old_folder, new_folder):
        if not folder or folder.startswith("/") or folder.endswith("/"):
            raise ValueError(f"{folder!r} is not a relative folder path")
    if new_folder == old_folder or new_folder.startswith(old_folder + "/"):
        raise ValueError(f"cannot move folder {old_folder!r} into itself ({new_folder!r})")


# A bulk_upsert of this many rows is left out of the change log (a first scan would write one entry
# per file) and resets every kept search and the path index instead.
_BULK_ROWS = 1000


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
