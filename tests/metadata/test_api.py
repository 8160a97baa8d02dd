"""The metadata endpoints over real HTTP (uvicorn on loopback), with the fakes as the sources."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from comicmaintainer.config import Settings
from comicmaintainer.jobs.events import SettingsChanged
from comicmaintainer.web.service import Service, build_service
from tests.archive_factory import make_cbz
from tests.metadata.conftest import pointed
from tests.metadata.fakes import GOOD_KEY, Fake
from tests.web.conftest import live_server  # noqa: F401 - fixture


@pytest.fixture
def service(tmp_path: Path, fakes: dict[str, Fake]) -> Iterator[Service]:
    library = tmp_path / "library"
    for series in ("Berserk", "Monster"):
        for n in (1, 2):
            make_cbz(library / series / f"{series} - Chapter {n:04d}.cbz", seed=n)
    base = Settings(watched_dir=library, duplicate_dir=None, config_dir=tmp_path / "config")
    svc = build_service(pointed(base, fakes), workers=2)
    svc.start()
    yield svc
    svc.stop()


@pytest.fixture
def api(service: Service, live_server) -> Iterator[httpx.Client]:  # type: ignore[no-untyped-def]  # noqa: F811
    with httpx.Client(base_url=live_server(service.app), timeout=30) as client:
        yield client


def finished(api: httpx.Client, job_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job = api.get(f"/api/jobs/{job_id}").json()
        if job["finished_at"] is not None:
            return job
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} did not finish")


def test_match_job_then_choose_a_candidate_then_clear(api: httpx.Client, fakes: dict[str, Fake]) -> None:
    job = api.post("/api/metadata/match", json={"all": True})
    assert job.status_code == 201 and job.json()["kind"] == "match"
    done = finished(api, job.json()["id"])
    assert (done["succeeded"], done["skipped"]) == (2, 2)  # Berserk matched; Monster needs a person
    listed = {s["folder"]: s for s in api.get("/api/metadata/series").json()["series"]}
    assert listed["Berserk"]["status"] == "matched" and listed["Berserk"]["record"]["writers"] == [
        "Kentaro Miura"
    ]
    monster = api.get("/api/metadata/series/detail", params={"folder": "Monster"}).json()
    assert monster["status"] == "needs_match" and len(monster["candidates"]) == 6  # two per manga source
    assert {c["source"] for c in monster["candidates"]} == {"anilist", "mangadex", "mangaupdates"}
    assert all(c["cover_url"] and c["year"] and c["summary"] for c in monster["candidates"])

    chosen = api.post("/api/metadata/series/pin", json={"folder": "Monster", "source": "anilist", "id": "3"})
    assert chosen.status_code == 200 and chosen.json()["status"] == "pinned"
    jobs = api.get("/api/jobs").json()["jobs"]
    finished(api, jobs[0]["id"])
    tags = api.get("/api/files/tags", params={"path": "Monster/Monster - Chapter 0001.cbz"})
    assert tags.json()["tags"]["Writer"] == "Naoki Urasawa"

    cleared = api.post("/api/metadata/series/clear", json={"folder": "Monster"}).json()
    assert cleared["status"] is None


def test_preview_shows_what_a_match_would_write_and_writes_nothing(
    api: httpx.Client, service: Service, fakes: dict[str, Fake]
) -> None:
    library = service.settings.watched_dir
    before = {p: p.read_bytes() for p in library.rglob("*.cbz")}
    answer = api.post("/api/metadata/preview", json={"folder": "Berserk"})
    assert answer.status_code == 200
    preview = answer.json()
    assert preview["total"] == 2 and preview["match"]["status"] == "matched"  # found, and kept
    chapters = preview["chapters"]
    assert [c["path"] for c in chapters] == [f"Berserk/Berserk - Chapter {n:04d}.cbz" for n in (1, 2)]
    assert all(c["dry_run"] and c["outcome"] == "processed" for c in chapters)
    assert all(
        c["tags_before"]["Writer"] is None and c["tags_after"]["Writer"] == "Kentaro Miura" for c in chapters
    )
    assert {p: p.read_bytes() for p in library.rglob("*.cbz")} == before  # nothing written

    unsure = api.post("/api/metadata/preview", json={"folder": "Monster"}).json()
    assert unsure["match"]["status"] == "needs_match"
    assert all(c["outcome"] == "unchanged" and "needs a match" in c["message"] for c in unsure["chapters"])
    assert api.post("/api/metadata/preview", json={"folder": "Nowhere"}).status_code == 404


def test_bad_requests_get_one_plain_line(api: httpx.Client) -> None:
    missing = api.get("/api/metadata/series/detail", params={"folder": "Nope"})
    assert (
        missing.status_code == 404
        and missing.json()["error"]["message"] == "no such series folder in the library: Nope"
    )
    outside = api.post("/api/metadata/series/search", json={"folder": "../etc"})
    assert outside.status_code == 400
    bad_id = api.post(
        "/api/metadata/series/pin", json={"folder": "Monster", "source": "anilist", "id": "x y"}
    )
    assert bad_id.status_code == 400 and bad_id.json()["error"]["code"] == "bad_pin"
    assert api.post("/api/metadata/match", json={}).status_code == 400


def test_secrets_are_write_only(api: httpx.Client, service: Service) -> None:
    seen: list[Any] = []
    service.bus.publish = lambda event, _publish=service.bus.publish: (seen.append(event), _publish(event))[1]  # type: ignore[method-assign]
    before = api.get("/api/metadata/settings").json()
    assert before["comicvine_api_key_set"] is True and "comicvine_api_key" not in before
    changed = api.put(
        "/api/metadata/settings", json={"comicvine_api_key": "new-secret-000", "metadata_overwrite": True}
    )
    assert changed.status_code == 200 and changed.json()["metadata_overwrite"] is True
    assert "new-secret-000" not in changed.text and GOOD_KEY not in changed.text
    assert service.settings.comicvine_api_key == "new-secret-000"
    events = [e for e in seen if isinstance(e, SettingsChanged)]
    assert events and "new-secret-000" not in repr(events)
    too_fast = api.put("/api/metadata/settings", json={"anilist_per_minute": 1000})
    assert (
        too_fast.status_code == 400 and "anilist_per_minute must be a number from 0.1 to 90" in too_fast.text
    )


def test_a_candidates_cover_comes_through_this_server_once(api: httpx.Client, fakes: dict[str, Fake]) -> None:
    found = api.post("/api/metadata/series/search", json={"folder": "Monster", "source": "anilist"}).json()
    first = found["candidates"][0]
    params = {"folder": "Monster", "source": "anilist", "id": first["id"]}
    image = api.get("/api/metadata/cover", params=params)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    fetched = [r for r in fakes["anilist"].requests if r[2].startswith("/img/")]
    assert api.get("/api/metadata/cover", params=params).content == image.content
    assert [r for r in fakes["anilist"].requests if r[2].startswith("/img/")] == fetched  # cached
    unknown = api.get("/api/metadata/cover", params={**params, "id": "999"})
    assert unknown.status_code == 404  # only covers of candidates shown: no open proxy


def test_auto_match_gives_a_new_folder_its_fields(tmp_path: Path, fakes: dict[str, Fake]) -> None:
    library = tmp_path / "auto"
    library.mkdir()
    base = Settings(
        watched_dir=library, duplicate_dir=None, config_dir=tmp_path / "auto-config", quiet_period=0.2
    )
    svc = build_service(pointed(base, fakes, metadata_auto_match=True), workers=1, watch=True)
    svc.start()
    try:
        make_cbz(tmp_path / "incoming.cbz", seed=1)
        (library / "Berserk").mkdir()
        (tmp_path / "incoming.cbz").rename(library / "Berserk" / "Berserk - Chapter 0001.cbz")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            jobs = [j for j in svc.engine.list() if j["finished_at"] is not None]
            if jobs:
                break
            time.sleep(0.05)
        assert jobs and (jobs[0]["kind"], jobs[0]["source"], jobs[0]["succeeded"]) == ("match", "watcher", 1)
        from comicmaintainer.library.edit import read_tags

        tags = read_tags("Berserk/Berserk - Chapter 0001.cbz", svc.ctx)["tags"]
        assert (tags["Writer"], tags["Series"], tags["Number"]) == ("Kentaro Miura", "Berserk", "1")
    finally:
        svc.stop()
