"""Migration 0008 and the metadata tables, on a real SQLite file."""

from __future__ import annotations

import sqlite3
import time
from importlib import resources
from pathlib import Path

from comicmaintainer.jobs.model import JobSpec
from comicmaintainer.library.store import JobStore, MetadataStore, NewJob, SeriesMatch, Store


def test_0008_keeps_every_job_and_item_and_allows_match_jobs(tmp_path: Path) -> None:
    db = tmp_path / "store" / "comicmaintainer.db"
    db.parent.mkdir()
    folder = resources.files("comicmaintainer.library") / "migrations"
    conn = sqlite3.connect(db)  # a database as the release before 0008 left it
    for name in sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))[:7]:
        conn.executescript((folder / name).read_text(encoding="utf-8"))
    conn.execute(
        "INSERT INTO jobs (id, kind, scope, created_at, status, finished_at)"
        " VALUES (1, 'process', 'all', 1, 'completed', 3)"
    )
    conn.execute(
        "INSERT INTO jobs (id, kind, scope, created_at, retry_of) VALUES (2, 'rename', 'selected', 2, 1)"
    )
    conn.execute(
        "INSERT INTO job_items (job_id, path, status) VALUES (1, 'a/1.cbz', 'done'), (2, 'a/2.cbz', 'queued')"
    )
    conn.execute("PRAGMA user_version = 7")
    conn.commit()
    conn.close()

    with Store(db) as store:
        jobs = JobStore(store)
        assert [(j.id, j.kind, j.retry_of) for j in jobs.list_jobs()] == [
            (2, "rename", 1),
            (1, "process", None),
        ]
        assert [i.path for i in jobs.list_items(1)] + [i.path for i in jobs.list_items(2)] == [
            "a/1.cbz",
            "a/2.cbz",
        ]
        spec = JobSpec("match", "selected", ("a/1.cbz",))
        new = jobs.create_job(NewJob(kind=spec.kind, scope=spec.scope, source="cli", priority=0, tags={},
                                     paths=spec.paths, refused=(), select=None, retry_of=None))  # fmt: skip
        assert jobs.get_job(new).kind == "match"  # type: ignore[union-attr]
        assert jobs.delete_job(1) and jobs.list_items(1) == []  # the cascade still holds after the copy
        check = store._read("PRAGMA foreign_key_check")
        assert check == []


def test_a_pin_is_not_replaced_by_a_search_and_the_cache_expires(tmp_path: Path) -> None:
    with Store(tmp_path / "db.sqlite") as store:
        data = MetadataStore(store)
        data.save_match(SeriesMatch("Monster", "pinned", "anilist", "3", None, {"id": "3"}, [], time.time()))
        data.save_match(SeriesMatch("Monster", "matched", "anilist", "4", 99, {"id": "4"}, [], time.time()))
        assert data.get_match("Monster").source_id == "3"  # type: ignore[union-attr]
        assert [m.folder for m in data.matches("pinned")] == ["Monster"] and data.matches("matched") == []
        data.put("k1", "anilist", {"a": 1}, ttl=3600)
        data.put("k2", "anilist", {"b": 2}, ttl=-1)
        assert data.get("k1") == {"a": 1} and data.get("k2") is None
        assert data.purge_expired() == 1
        assert data.clear("Monster") and data.get_match("Monster") is None


def test_a_match_and_a_pin_move_with_their_folder(tmp_path: Path) -> None:
    with Store(tmp_path / "db.sqlite") as store:
        data = MetadataStore(store)
        for folder, status in [("Manga/Monster", "pinned"), ("Manga/Monster/Extras", "matched"),
                               ("Manga/Monster 2", "matched"), ("Shelf/Monster", "needs_match")]:  # fmt: skip
            data.save_match(SeriesMatch(folder, status, "anilist", "3", None, None, [], time.time()))
        store.mark("Manga/Monster/Monster - Chapter 0001.cbz", status="processed")
        store.move_prefix("Manga/Monster", "Shelf/Monster")
        assert {m.folder: m.status for m in data.matches()} == {
            "Shelf/Monster": "pinned",  # the moved pin wins over what was kept for the folder's new place
            "Shelf/Monster/Extras": "matched",
            "Manga/Monster 2": "matched",  # only the folder and what is under it moves
        }
