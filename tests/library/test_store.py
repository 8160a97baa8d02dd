"""The SQLite store on a real database file in a temp folder."""

from __future__ import annotations

import gc
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

from comicmaintainer.library.store import Action, ActionState, FileRow, Status, Store, StoreError


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "store" / "comicmaintainer.db") as opened:
        yield opened


def test_schema_and_pragmas(store: Store, tmp_path: Path) -> None:
    raw = sqlite3.connect(tmp_path / "store" / "comicmaintainer.db")
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        shipped = resources.files("comicmaintainer.library") / "migrations"
        numbered = [e for e in shipped.iterdir() if e.name[:4].isdigit() and e.name.endswith(".sql")]
        assert raw.execute("PRAGMA user_version").fetchone()[0] == len(numbered) >= 1
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"files", "actions", "kv"} <= tables
        indexes = {row[1] for row in raw.execute("PRAGMA index_list(files)")}
        assert {"files_folder", "files_status", "files_name"} <= indexes
    finally:
        raw.close()


def test_reopen_keeps_data_and_does_not_migrate_twice(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    with Store(db) as first:
        first.mark("a.cbz", status=Status.PROCESSED)
    with Store(db) as second:
        assert second.get_file("a.cbz") is not None


def test_newer_database_refused(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    Store(db).close()
    raw = sqlite3.connect(db)
    raw.execute("PRAGMA user_version = 99")
    raw.close()
    with pytest.raises(StoreError, match="newer version"):
        Store(db)


def test_closed_store_refuses(tmp_path: Path) -> None:
    store = Store(tmp_path / "x.db")
    store.close()
    store.close()  # twice is fine
    with pytest.raises(StoreError, match="closed"):
        store.get_file("a.cbz")
    with pytest.raises(StoreError, match="closed"):
        store.mark("a.cbz", status="processed")


def test_filerow_derives_folder_and_name() -> None:
    assert (FileRow("a/b/c.cbz").folder, FileRow("a/b/c.cbz").name) == ("a/b", "c.cbz")
    assert (FileRow("c.cbz").folder, FileRow("c.cbz").name) == ("", "c.cbz")
    assert FileRow("c.cbz", status="processed").status is Status.PROCESSED  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        FileRow("a/c.cbz", folder="b")
    with pytest.raises(ValueError):
        FileRow("/abs.cbz")
    with pytest.raises(ValueError):
        FileRow("c.cbz", status="weird")  # type: ignore[arg-type]


def test_upsert_and_get(store: Store) -> None:
    row = FileRow("S/a.cbz", size=10, mtime_ns=20, inode=30, content_id="cid", manual_edit=True)
    store.upsert_file(row)
    got = store.get_file("S/a.cbz")
    assert got is not None
    assert got.folder == "S" and got.name == "a.cbz"
    assert (got.size, got.mtime_ns, got.inode, got.content_id, got.manual_edit) == (10, 20, 30, "cid", True)
    assert got.status is Status.UNPROCESSED
    assert time.time() - got.updated_at < 60
    store.upsert_file(FileRow("S/a.cbz", size=11, status=Status.PROCESSED))
    again = store.get_file("S/a.cbz")
    assert again is not None and again.size == 11 and again.content_id is None and not again.manual_edit
    assert store.get_file("missing.cbz") is None


def test_mark_inserts_and_updates_only_given_fields(store: Store) -> None:
    store.mark("S/a.cbz", status=Status.NEEDS_ATTENTION, size=5, inode=7, error="no issue number")
    row = store.get_file("S/a.cbz")
    assert row is not None
    assert (row.status, row.size, row.inode, row.mtime_ns, row.error) == (
        Status.NEEDS_ATTENTION,
        5,
        7,
        0,
        "no issue number",
    )
    store.mark("S/a.cbz", status="processed", mtime_ns=99, content_id="c1", manual_edit=True)
    row = store.get_file("S/a.cbz")
    assert row is not None
    assert (row.status, row.size, row.inode, row.mtime_ns, row.error) == (Status.PROCESSED, 5, 7, 99, None)
    assert (row.content_id, row.manual_edit) == ("c1", True)
    with pytest.raises(ValueError):
        store.mark("S/a.cbz", status="bogus")


def test_mark_duplicate_of_cleared_when_no_longer_duplicate(store: Store) -> None:
    store.mark("S/b.cbz", status="duplicate", duplicate_of="S/a.cbz")
    row = store.get_file("S/b.cbz")
    assert row is not None and row.duplicate_of == "S/a.cbz"
    store.mark("S/b.cbz", status="duplicate")
    row = store.get_file("S/b.cbz")
    assert row is not None and row.duplicate_of == "S/a.cbz"
    store.mark("S/b.cbz", status="processed")
    row = store.get_file("S/b.cbz")
    assert row is not None and row.duplicate_of is None


def test_status_check_constraint_in_the_database(store: Store, tmp_path: Path) -> None:
    raw = sqlite3.connect(tmp_path / "store" / "comicmaintainer.db")
    try:
        with pytest.raises(sqlite3.IntegrityError):
            raw.execute(
                "INSERT INTO files (path, folder, name, status, updated_at) VALUES ('a', '', 'a', 'x', 0)"
            )
    finally:
        raw.close()


def test_move_file(store: Store) -> None:
    store.mark("S/old.cbz", status="processed", size=42, content_id="c")
    store.mark("S/dupe.cbz", status="duplicate", duplicate_of="S/old.cbz")
    store.mark("T/new.cbz", status="unprocessed", size=1)
    store.move_file("S/old.cbz", "T/new.cbz")
    assert store.get_file("S/old.cbz") is None
    moved = store.get_file("T/new.cbz")
    assert moved is not None
    assert (moved.folder, moved.name, moved.size, moved.status, moved.content_id) == (
        "T",
        "new.cbz",
        42,
        Status.PROCESSED,
        "c",
    )
    dupe = store.get_file("S/dupe.cbz")
    assert dupe is not None and dupe.duplicate_of == "T/new.cbz"
    store.move_file("never/was.cbz", "T/new.cbz")  # unknown source: the target row stays
    assert store.get_file("T/new.cbz") == moved
    assert store.counts()["all"] == 2


def test_move_prefix(store: Store) -> None:
    for path in ["Re_Zero/a.cbz", "Re_Zero/sub/b.cbz", "Re_Zero 2/c.cbz", "ReXZero/d.cbz", "Re_Zero.cbz"]:
        store.mark(path, status="processed")
    store.mark("New/a.cbz", status="unprocessed")  # will be replaced by the moved row
    store.mark("Other/x.cbz", status="duplicate", duplicate_of="Re_Zero/sub/b.cbz")
    assert store.move_prefix("Re_Zero", "New") == 2
    paths = {row.path: row for row in store.files()}
    assert set(paths) == {
        "New/a.cbz",
        "New/sub/b.cbz",
        "Re_Zero 2/c.cbz",
        "ReXZero/d.cbz",
        "Re_Zero.cbz",
        "Other/x.cbz",
    }
    assert paths["New/a.cbz"].status is Status.PROCESSED
    assert (paths["New/sub/b.cbz"].folder, paths["New/sub/b.cbz"].name) == ("New/sub", "b.cbz")
    assert paths["New/a.cbz"].folder == "New"
    assert paths["Other/x.cbz"].duplicate_of == "New/sub/b.cbz"
    assert store.move_prefix("Empty", "Elsewhere") == 0
    for bad in [("", "x"), ("a", "a"), ("a", "a/b"), ("a/", "b"), ("a", "/b")]:
        with pytest.raises(ValueError):
            store.move_prefix(*bad)


def test_delete_and_delete_missing(store: Store) -> None:
    store.bulk_upsert(FileRow(f"S/{n}.cbz") for n in range(10))
    store.delete_file("S/0.cbz")
    assert store.get_file("S/0.cbz") is None
    assert store.delete_missing({"S/1.cbz", "S/2.cbz", "not/known.cbz"}) == 7
    assert [row.path for row in store.files()] == ["S/1.cbz", "S/2.cbz"]


def test_fingerprints_counts_and_files_by_status(store: Store) -> None:
    assert store.counts() == {
        "unprocessed": 0,
        "processed": 0,
        "duplicate": 0,
        "needs_attention": 0,
        "all": 0,
    }
    store.bulk_upsert(
        [
            FileRow("a.cbz", size=1, mtime_ns=2, inode=3, status=Status.PROCESSED),
            FileRow("b/b.cbz", size=4, mtime_ns=5, inode=6, status=Status.PROCESSED),
            FileRow("c.cbz", status=Status.NEEDS_ATTENTION, error="bad zip"),
        ]
    )
    assert store.all_fingerprints() == {"a.cbz": (1, 2, 3), "b/b.cbz": (4, 5, 6), "c.cbz": (0, 0, 0)}
    assert store.counts() == {
        "unprocessed": 0,
        "processed": 2,
        "duplicate": 0,
        "needs_attention": 1,
        "all": 3,
    }
    assert [row.path for row in store.files("processed")] == ["a.cbz", "b/b.cbz"]
    assert [row.error for row in store.files(Status.NEEDS_ATTENTION)] == ["bad zip"]


def test_bulk_upsert_is_one_transaction(store: Store) -> None:
    rows = [FileRow("a.cbz"), FileRow("b.cbz"), FileRow("c.cbz")]

    def broken() -> Iterator[FileRow]:
        yield from rows
        raise RuntimeError("scanner failed half way")

    with pytest.raises(RuntimeError):
        store.bulk_upsert(broken())
    assert store.counts()["all"] == 0
    store.bulk_upsert(rows)  # the write connection is usable afterwards
    assert store.counts()["all"] == 3


def test_bulk_upsert_writes_every_row_once_and_replaces_known_paths(store: Store) -> None:
    # Its speed is measured by bench/file_list.py (the 100,000-file scan), not here.
    rows = [
        FileRow(f"Series {n // 100}/Series {n // 100} - Chapter {n:04d}.cbz", size=n) for n in range(5_000)
    ]
    store.bulk_upsert(rows)
    store.bulk_upsert([FileRow(rows[7].path, size=-1, status=Status.PROCESSED)])
    assert store.counts()["all"] == 5_000
    assert store.counts()["processed"] == 1
    row = store.get_file(rows[7].path)
    assert row is not None and row.size == -1


def test_actions_history(store: Store) -> None:
    first = store.record_action("tags", "a.cbz", "a.cbz", b"<old/>", b"<new/>")
    second = store.record_action("rename", "a.cbz", "b.cbz", None, None, state="pending")
    assert second > first
    got = store.get_action(first)
    assert isinstance(got, Action)
    assert (got.kind, got.old_xml, got.new_xml, got.state) == ("tags", b"<old/>", b"<new/>", ActionState.DONE)
    assert [a.id for a in store.list_actions()] == [second, first]
    assert [a.id for a in store.list_actions(limit=1)] == [second]
    assert [a.id for a in store.pending_actions()] == [second]
    store.set_action_state(second, ActionState.ROLLED_BACK)
    assert store.pending_actions() == []
    store.set_action_state(first, "undone")
    undone = store.get_action(first)
    assert undone is not None and undone.state is ActionState.UNDONE
    assert store.get_action(9999) is None
    with pytest.raises(ValueError):
        store.set_action_state(first, "nope")


def test_kv(store: Store) -> None:
    assert store.get_kv("preferences") == {}
    store.set_kv("preferences", "page_size", 50)
    store.set_kv("preferences", "columns", ["name", "status"])
    store.set_kv("preferences", "page_size", 100)
    store.set_kv("other", "x", {"a": None})
    assert store.get_kv("preferences") == {"columns": ["name", "status"], "page_size": 100}
    store.delete_kv("preferences", "columns")
    assert store.get_kv("preferences") == {"page_size": 100}
    assert store.get_kv("other") == {"x": {"a": None}}


def test_threads_write_and_read_concurrently(store: Store) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def worker(number: int) -> None:
        try:
            start.wait()
            for n in range(150):
                path = f"T{number}/{n}.cbz"
                store.mark(path, status="processed", size=n)
                row = store.get_file(path)
                assert row is not None and row.size == n
                if n % 25 == 0:
                    store.record_action("tags", path, path, None, None)
                    store.counts()
                    store.set_kv("t", str(number), n)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert store.counts()["processed"] == 8 * 150
    assert len(store.list_actions(limit=1000)) == 8 * 6


def test_second_process_style_connection_waits_instead_of_failing(store: Store, tmp_path: Path) -> None:
    """Another connection (as the CLI would open) holds the write lock briefly; our write waits."""
    other = sqlite3.connect(
        tmp_path / "store" / "comicmaintainer.db", isolation_level=None, check_same_thread=False
    )
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO kv VALUES ('s', 'k', '1')")
        releaser = threading.Timer(0.3, lambda: other.execute("COMMIT"))
        releaser.start()
        store.mark("a.cbz", status="processed")  # would raise "database is locked" without busy_timeout
        releaser.join()
    finally:
        other.close()
    assert store.get_kv("s") == {"k": 1}


def open_db_handles(db: Path) -> int:
    fd_dir = Path("/proc/self/fd")
    count = 0
    for fd in fd_dir.iterdir():
        try:
            count += os.readlink(fd) == str(db)
        except OSError:
            continue
    return count


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_read_connections_of_finished_threads_do_not_pile_up(store: Store, tmp_path: Path) -> None:
    """Many short-lived threads reading must not leave one open connection each behind.

    (SQLite keeps a closed connection's file descriptor for reuse while others have the file
    open, so the count after one round is the baseline; a second round must not add to it.)
    """
    db = tmp_path / "store" / "comicmaintainer.db"

    def round_of_readers() -> int:
        threads = [threading.Thread(target=store.counts) for _ in range(30)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        gc.collect()  # a connection's statement cache forms a cycle; the collector frees it
        return open_db_handles(db)

    first = round_of_readers()
    assert round_of_readers() <= first


def test_upgrade_backs_up_the_database_before_migrating(tmp_path: Path) -> None:
    import sqlite3
    from importlib import resources

    db = tmp_path / "store" / "comicmaintainer.db"
    db.parent.mkdir()
    first = resources.files("comicmaintainer.library") / "migrations" / "0001_initial.sql"
    conn = sqlite3.connect(db)  # a database as the first release left it
    conn.executescript(first.read_text(encoding="utf-8"))
    conn.execute("INSERT INTO kv (scope, key, value) VALUES ('preferences', 'theme', '\"dark\"')")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()

    with Store(db) as store:
        assert store.get_kv("preferences") == {"theme": "dark"}
    backups = list(db.parent.glob("comicmaintainer.db.pre-*.bak"))
    assert len(backups) == 1
    saved = sqlite3.connect(backups[0])
    assert saved.execute("PRAGMA user_version").fetchone()[0] == 1
    assert saved.execute("SELECT value FROM kv WHERE key = 'theme'").fetchone()[0] == '"dark"'
    saved.close()
    with Store(db):
        pass  # up to date now: no second backup
    assert len(list(db.parent.glob("comicmaintainer.db.pre-*.bak"))) == 1
