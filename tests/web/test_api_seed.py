"""The original ComicMaintainer's routes over real HTTP: the same jobs as ours, in the seed's shape."""

from __future__ import annotations

import httpx

from comicmaintainer.web.service import Service
from tests.web.test_api_files import all_paths, api, service  # noqa: F401 - fixtures
from tests.web.test_api_jobs import wait_finished


def test_process_all_starts_the_job_post_api_jobs_starts(api: httpx.Client, service: Service) -> None:  # noqa: F811
    on_disk = [p for p in service.settings.watched_dir.rglob("*") if p.is_file()]
    started = api.post("/api/jobs/process-all")
    assert started.status_code == 200, started.text
    body = started.json()
    assert body["total_items"] == len(on_disk) > 0
    job = wait_finished(api, body["job_id"])
    assert (job["kind"], job["scope"], job["source"]) == ("process", "all", "web")
    assert job["total"] == body["total_items"] and job["processed"] == job["total"]
    assert all_paths(api, filter="unprocessed") == []  # every file went through the pipeline
    ours = api.post("/api/jobs", json={"kind": "process", "scope": "all"}).json()
    assert ours["total"] == body["total_items"]
    wait_finished(api, ours["id"])


def test_process_selected_takes_relative_and_absolute_library_paths(
    api: httpx.Client,  # noqa: F811
    service: Service,  # noqa: F811
) -> None:
    rel = "Frieren/stale tags.cbz"
    absolute = str(service.settings.watched_dir / "Berserk" / "Berserk ch 100 (broken download).cbz")
    started = api.post("/api/jobs/process-selected", json={"files": [rel, absolute]})
    assert started.status_code == 200, started.text
    body = started.json()
    assert body["total_items"] == 2
    wait_finished(api, body["job_id"])
    items = api.get(f"/api/jobs/{body['job_id']}/items").json()["items"]
    assert [i["path"] for i in items] == [rel, "Berserk/Berserk ch 100 (broken download).cbz"]
    assert [i["status"] for i in items] == ["done", "failed"]  # the broken download cannot be read


def test_process_selected_refuses_bad_input_with_a_plain_4xx(
    api: httpx.Client,  # noqa: F811
    service: Service,  # noqa: F811
) -> None:
    root = service.settings.watched_dir
    before = api.get("/api/jobs").json()["jobs"]
    refused = {
        "outside, relative": ({"files": ["../secret.cbz"]}, 400, "bad_path"),
        "outside, absolute": ({"files": ["/etc/passwd"]}, 400, "bad_path"),
        "out through ..": ({"files": [f"{root}/../secret.cbz"]}, 400, "bad_path"),
        "the library itself": ({"files": [str(root)]}, 400, "bad_path"),
        "a NUL byte": ({"files": [f"{root}/a\x00.cbz"]}, 400, "bad_path"),
        "empty list": ({"files": []}, 422, "invalid_request"),
        "empty name": ({"files": [""]}, 422, "invalid_request"),
        "not a list": ({"files": "Frieren/stale tags.cbz"}, 422, "invalid_request"),
        "not text": ({"files": [1, 2]}, 422, "invalid_request"),
        "no files key": ({"paths": ["Frieren/stale tags.cbz"]}, 422, "invalid_request"),
        "not an object": ([1], 422, "invalid_request"),
        "too many": ({"files": ["a.cbz"] * 100_001}, 422, "invalid_request"),
    }
    for case, (body, status, code) in refused.items():
        answer = api.post("/api/jobs/process-selected", json=body)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), case
        assert "\n" not in answer.json()["error"]["message"], case
    as_json = {"content-type": "application/json"}
    not_json = api.post("/api/jobs/process-selected", content=b"{", headers=as_json)
    assert not_json.status_code == 422
    assert api.get("/api/jobs").json()["jobs"] == before  # nothing refused was started
    assert api.get("/api/jobs/process-all").status_code == 422  # only POST; GET is /api/jobs/{id}


def test_cache_stats_answers_what_the_store_holds(api: httpx.Client, service: Service) -> None:  # noqa: F811
    empty = api.get("/api/cache/stats")
    assert empty.status_code == 200
    stats = empty.json()
    files = [p for p in service.settings.watched_dir.rglob("*") if p.is_file()]
    folders = {p.parent for p in files}
    assert stats["files"]["all"] == stats["files"]["unprocessed"] == len(files)
    assert stats["folders"] == len(folders)
    assert (stats["jobs"], stats["job_items"], stats["history_actions"]) == (0, 0, 0)
    assert stats["database_bytes"] == service.settings.db_path.stat().st_size + _wal_size(service)
    assert stats["thumbnails"] == {"count": 0, "bytes": 0}

    cover = api.get("/api/files/cover", params={"path": "Frieren/stale tags.cbz"})
    assert cover.status_code == 200
    job = api.post("/api/jobs/process-selected", json={"files": ["Frieren/stale tags.cbz"]}).json()
    wait_finished(api, job["job_id"])
    after = api.get("/api/cache/stats").json()
    assert (after["jobs"], after["job_items"]) == (1, 1)
    assert after["history_actions"] >= 1  # the tags written (and the rename, if any) are in the history
    assert after["files"]["processed"] == 1
    thumbs = [p for p in service.settings.thumbs_dir.rglob("*") if p.is_file()]
    assert after["thumbnails"] == {"count": len(thumbs), "bytes": sum(p.stat().st_size for p in thumbs)}
    assert after["thumbnails"]["count"] == 1


def _wal_size(svc: Service) -> int:
    wal = svc.settings.db_path.with_name(svc.settings.db_path.name + "-wal")
    return wal.stat().st_size if wal.exists() else 0
