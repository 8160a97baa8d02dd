"""The file routes against a real uvicorn on loopback, over a real example library and SQLite."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from comicmaintainer.archive.reader import read_archive
from comicmaintainer.config import Settings
from comicmaintainer.example_library import build, write_cbz
from comicmaintainer.web.service import Service, build_service
from tests.web.processing import process_now


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    library = tmp_path / "library"
    build(library, series=2, per_series=4)
    settings = Settings(watched_dir=library, duplicate_dir=None, config_dir=tmp_path / "config")
    svc = build_service(settings, workers=2)
    svc.start()
    yield svc
    svc.stop()


@pytest.fixture
def api(service: Service, live_server) -> Iterator[httpx.Client]:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=live_server(service.app), timeout=30) as client:
        yield client


def all_paths(api: httpx.Client, **params: object) -> list[str]:
    body = api.get("/api/files", params={"per_page": 500, **params}).json()
    return [f["path"] for group in body["groups"] for f in group["files"]]


def test_list_is_grouped_by_folder_with_counts(api: httpx.Client, service: Service) -> None:
    body = api.get("/api/files").json()
    on_disk = {
        p.relative_to(service.settings.watched_dir).as_posix()
        for p in service.settings.watched_dir.rglob("*")
        if p.is_file()
    }
    assert body["total"] == len(on_disk) == body["counts"]["all"] == body["counts"]["unprocessed"]
    assert {f["path"] for g in body["groups"] for f in g["files"]} == on_disk
    for group in body["groups"]:
        assert all(f["folder"] == group["folder"] for f in group["files"])
    by_folder = api.get("/api/files", params={"sort": "folder"}).json()["groups"]
    assert len({g["folder"] for g in by_folder}) == len(by_folder)  # sorted by folder: one group each


def test_search_is_case_insensitive_substring_of_name_and_folder(api: httpx.Client) -> None:
    by_folder = all_paths(api, search="bERSERK")
    assert by_folder and all("berserk" in p.lower() for p in by_folder)
    by_name = all_paths(api, search="BROKEN dow")
    assert by_name == ["Berserk/Berserk ch 100 (broken download).cbz"]
    counts = api.get("/api/files", params={"search": "broken"}).json()["counts"]
    assert counts["all"] == 1
    assert all_paths(api, search="50%_") == []  # LIKE wildcards are plain characters


def test_sort_direction_and_pages(api: httpx.Client) -> None:
    names = [p.rsplit("/", 1)[1] for p in all_paths(api, sort="name")]
    assert names == sorted(names, key=str.casefold)
    desc = api.get("/api/files", params={"sort": "size", "direction": "desc"}).json()
    sizes = [f["size"] for g in desc["groups"] for f in g["files"]]
    assert sizes == sorted(sizes, reverse=True)
    first = api.get("/api/files", params={"per_page": 10, "page": 1}).json()
    second = api.get("/api/files", params={"per_page": 10, "page": 2}).json()
    assert first["pages"] == 2
    page_one = {f["path"] for g in first["groups"] for f in g["files"]}
    page_two = {f["path"] for g in second["groups"] for f in g["files"]}
    assert len(page_one) == 10 and page_two and not page_one & page_two
    assert api.get("/api/files", params={"per_page": 9}).status_code == 422
    assert api.get("/api/files", params={"per_page": 501}).status_code == 422


def test_filters_follow_processing(api: httpx.Client) -> None:
    assert api.post("/api/jobs", json={"kind": "process", "scope": "all"}).status_code == 201
    for _ in range(200):
        jobs = api.get("/api/jobs").json()["jobs"]
        if jobs[0]["status"] in ("completed", "failed"):
            break
        import time

        time.sleep(0.05)
    counts = api.get("/api/files").json()["counts"]
    assert counts["needs_attention"] >= 1 and counts["duplicates"] == 1 and counts["processed"] >= 1
    parts = ("processed", "unprocessed", "duplicates", "needs_attention")
    assert sum(counts[k] for k in parts) == counts["all"]
    for name in ("processed", "duplicates", "needs_attention"):
        assert len(all_paths(api, filter=name)) == counts[name]
    folders = api.get("/api/folders").json()["folders"]
    assert sum(f["count"] for f in folders) == counts["all"]


def test_tags_read_and_written_into_the_archive(api: httpx.Client, service: Service) -> None:
    rel = "Frieren/stale tags.cbz"
    tags = api.get("/api/files/tags", params={"path": rel}).json()["tags"]
    assert tags["Series"] == "old name" and tags["Summary"] is None
    new_tags = {"Series": "Frieren", "Summary": "A trip"}
    answer = api.put("/api/files/tags", json={"path": rel, "tags": new_tags})
    assert answer.status_code == 200 and answer.json()["tags"]["Summary"] == "A trip"
    info = read_archive(service.settings.watched_dir / rel)
    assert b"<Summary>A trip</Summary>" in (info.comicinfo or b"")
    row = service.store.get_file(rel)
    assert row is not None and row.manual_edit
    assert api.get("/api/history").json()["actions"][0]["old_path"] == rel
    bad = api.put("/api/files/tags", json={"path": rel, "tags": {"NoSuchField": "x"}})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_tags"


def test_preview_changes_nothing_and_process_renames(api: httpx.Client, service: Service) -> None:
    root = service.settings.watched_dir
    rel = next(p for p in all_paths(api, search="re zero") if "Chapter" not in p)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    items = api.post("/api/preview", json={"paths": [rel]}).json()["items"]
    assert items[0]["dry_run"] and items[0]["new_path"]
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before
    result = process_now(api, rel, "full")
    assert result["outcome"] == "processed" and result["new_path"] == items[0]["new_path"]
    assert (root / result["new_path"]).is_file() and not (root / rel).exists()
    again = process_now(api, result["new_path"], "normalize")
    assert again["outcome"] == "unchanged"  # force=True opened it again; nothing left to do


def test_preview_of_a_batch_flags_two_files_planned_onto_one_name(
    api: httpx.Client, service: Service
) -> None:
    root = service.settings.watched_dir
    write_cbz(root / "Berserk" / "berserk ch 77.cbz", seed=77)
    write_cbz(root / "Berserk" / "Berserk #077.cbz", seed=78)
    api.post("/api/scan")
    paths = ["Berserk/Berserk #077.cbz", "Berserk/berserk ch 77.cbz"]
    items = api.post("/api/preview", json={"paths": paths}).json()["items"]
    assert [i["outcome"] for i in items] == ["processed", "duplicate"]
    assert items[1]["duplicate_of"] == items[0]["new_path"] == "Berserk/Berserk - Chapter 0077.cbz"
    too_many = api.post("/api/preview", json={"paths": paths * 26})  # 52: more than a request may read
    assert too_many.status_code == 422


def test_preview_of_a_batch_keeps_two_different_books_apart_as_the_run_does(
    api: httpx.Client, service: Service
) -> None:
    root = service.settings.watched_dir
    write_cbz(root / "Berserk" / "Berserk v01 ch 77.cbz", seed=77)  # chapters counted again per volume
    write_cbz(root / "Berserk" / "Berserk v02 ch 77.cbz", seed=78)
    api.post("/api/scan")
    paths = ["Berserk/Berserk v01 ch 77.cbz", "Berserk/Berserk v02 ch 77.cbz"]
    items = api.post("/api/preview", json={"paths": paths}).json()["items"]
    assert [i["outcome"] for i in items] == ["processed", "processed"]
    planned = [i["new_path"] for i in items]
    assert planned == ["Berserk/Berserk - Chapter 0077.cbz", "Berserk/Berserk - Chapter 0077 (Volume 02).cbz"]
    assert [process_now(api, rel, "full")["new_path"] for rel in paths] == planned


def test_rename_only_keeps_tags(api: httpx.Client, service: Service) -> None:
    rel = "Frieren/stale tags.cbz"
    result = process_now(api, rel, "rename")
    assert result["tags_after"] == result["tags_before"]


def test_delete_moves_to_trash(api: httpx.Client, service: Service) -> None:
    rel = all_paths(api)[0]
    data = (service.settings.watched_dir / rel).read_bytes()
    assert api.delete("/api/files", params={"path": rel}).status_code == 204
    assert not (service.settings.watched_dir / rel).exists()
    trashed = [p for p in (service.settings.config_dir / "trash").rglob("*") if p.is_file()]
    assert [p.read_bytes() for p in trashed] == [data]
    assert rel not in all_paths(api)
    assert api.delete("/api/files", params={"path": rel}).status_code == 404


def test_cover_is_cached_with_etag(api: httpx.Client, service: Service) -> None:
    rel = "Frieren/stale tags.cbz"
    first = api.get("/api/files/cover", params={"path": rel})
    assert first.status_code == 200 and first.headers["content-type"] in ("image/webp", "image/jpeg")
    assert first.content[:4] in (b"RIFF", b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xdb")
    assert "max-age" in first.headers["cache-control"]
    same = {"If-None-Match": first.headers["etag"]}
    again = api.get("/api/files/cover", params={"path": rel}, headers=same)
    assert again.status_code == 304
    assert list(service.settings.thumbs_dir.rglob("*.*"))
    write_cbz(service.settings.watched_dir / rel, seed=5, pages=2)  # new content: new ETag
    changed = api.get("/api/files/cover", params={"path": rel}, headers=same)
    assert changed.status_code == 200 and changed.headers["etag"] != first.headers["etag"]
    broken = api.get("/api/files/cover", params={"path": "Berserk/Berserk ch 100 (broken download).cbz"})
    assert broken.status_code == 422 and broken.json()["error"]["code"] == "no_cover"


def test_scan_finds_new_files(api: httpx.Client, service: Service) -> None:
    path = service.settings.watched_dir / "New" / "New ch1.cbz"
    write_cbz(path, seed=1)
    assert zipfile.is_zipfile(path)
    body = api.post("/api/scan").json()
    assert body["added"] == 1 and "New/New ch1.cbz" in all_paths(api, search="new ch1")
