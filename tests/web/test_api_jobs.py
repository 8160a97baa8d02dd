"""Jobs over HTTP: start, get, items, cancel, retry, delete."""

from __future__ import annotations

import time

import httpx

from tests.web.test_api_files import api, service  # noqa: F401 - fixtures


def wait_finished(api: httpx.Client, job_id: int) -> dict:  # noqa: F811
    for _ in range(400):
        job = api.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("completed", "failed", "cancelled"):
            return job
        time.sleep(0.025)
    raise AssertionError(f"job {job_id} did not finish")


def test_start_get_items_retry_delete(api: httpx.Client) -> None:  # noqa: F811
    started = api.post("/api/jobs", json={"kind": "process", "scope": "all"})
    assert started.status_code == 201
    job = wait_finished(api, started.json()["id"])
    assert job["status"] == "failed" and job["failed"] == 1 and job["processed"] == job["total"]
    items = api.get(f"/api/jobs/{job['id']}/items", params={"status": "failed"}).json()["items"]
    assert [i["path"] for i in items] == ["Berserk/Berserk ch 100 (broken download).cbz"]
    retry = api.post(f"/api/jobs/{job['id']}/retry")
    assert retry.status_code == 201 and retry.json()["retry_of"] == job["id"]
    assert wait_finished(api, retry.json()["id"])["total"] == 1
    assert [j["id"] for j in api.get("/api/jobs").json()["jobs"]] == [retry.json()["id"], job["id"]]
    assert api.delete(f"/api/jobs/{job['id']}").status_code == 204
    assert api.get(f"/api/jobs/{job['id']}").status_code == 404


def test_cancel_and_conflicts(api: httpx.Client) -> None:  # noqa: F811
    job = api.post("/api/jobs", json={"kind": "rename", "scope": "unprocessed"}).json()
    cancelled = api.post(f"/api/jobs/{job['id']}/cancel")
    assert cancelled.status_code == 200
    final = wait_finished(api, job["id"])
    assert final["status"] in ("cancelled", "completed", "failed")
    one = {"kind": "normalize", "scope": "selected", "paths": ["Frieren/stale tags.cbz"]}
    done = api.post("/api/jobs", json=one)
    finished = wait_finished(api, done.json()["id"])
    assert api.post(f"/api/jobs/{finished['id']}/retry").json()["error"]["code"] == "conflict"
    assert api.post("/api/jobs/999999/cancel").status_code == 404
    empty = api.post("/api/jobs", json={"kind": "process", "scope": "selected"})
    assert empty.status_code == 400 and empty.json()["error"]["code"] == "bad_job"
    bad_tags = api.post("/api/jobs", json={"kind": "tag_update", "scope": "all", "tags": {"Nope": "x"}})
    assert bad_tags.status_code == 400


def test_tag_update_job_writes_tags(api: httpx.Client) -> None:  # noqa: F811
    rel = "Frieren/stale tags.cbz"
    spec = {"kind": "tag_update", "paths": [rel], "tags": {"Publisher": "Shogakukan"}}
    job = api.post("/api/jobs", json=spec)
    assert wait_finished(api, job.json()["id"])["succeeded"] == 1
    assert api.get("/api/files/tags", params={"path": rel}).json()["tags"]["Publisher"] == "Shogakukan"
