"""The check, its one-click fixes and the integration settings over HTTP, on a real uvicorn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from comicmaintainer.config import Settings
from comicmaintainer.web.service import Service, build_service
from tests.integrations.fakes import FakeKomga
from tests.library.test_consistency import build_every_finding
from tests.web.test_api_jobs import wait_finished


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    library = tmp_path / "library"
    library.mkdir()
    build_every_finding(library)
    settings = Settings(watched_dir=library, duplicate_dir=None, config_dir=tmp_path / "config")
    svc = build_service(settings, workers=2)
    svc.start()
    yield svc
    svc.stop()


@pytest.fixture
def api(service: Service, live_server) -> Iterator[httpx.Client]:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=live_server(service.app), timeout=30) as client:
        yield client


def kinds(api: httpx.Client, folder: str) -> set[str]:
    report = api.get("/api/check", params={"folder": folder}).json()
    return {f["kind"] for f in report["findings"]}


def test_check_and_its_fixes(api: httpx.Client) -> None:
    report = api.get("/api/check").json()
    assert len(report["findings"]) == 10 and report["files"] == 14
    assert kinds(api, "Mixed") == {"mixed_series", "mixed_language", "mixed_manga", "mixed_volume"}
    series = next(f for f in report["findings"] if f["kind"] == "mixed_series")
    job = api.post("/api/check/fix", json={"folder": "Mixed", **series["fix"]})
    assert job.status_code == 202, job.text
    assert wait_finished(api, job.json()["id"])["status"] == "completed"
    assert kinds(api, "Mixed") == {"mixed_language", "mixed_manga", "mixed_volume"}
    language = next(f for f in report["findings"] if f["kind"] == "mixed_language")
    job = api.post("/api/check/fix", json={"folder": "Mixed", **language["fix"]})
    assert wait_finished(api, job.json()["id"])["status"] == "completed"
    assert kinds(api, "Mixed") == {"mixed_manga", "mixed_volume"}


def test_bad_fixes_get_one_plain_error(api: httpx.Client) -> None:
    nowhere = api.post("/api/check/fix", json={"folder": "Nowhere", "action": "normalize"})
    assert nowhere.status_code == 404 and "no files in folder" in nowhere.json()["error"]["message"]
    no_tags = api.post("/api/check/fix", json={"folder": "Mixed", "action": "tag_update"})
    assert no_tags.status_code == 400
    unknown = api.post(
        "/api/check/fix", json={"folder": "Mixed", "action": "tag_update", "tags": {"Nope": "1"}}
    )
    assert unknown.status_code == 400 and "unknown ComicInfo field" in unknown.json()["error"]["message"]


def test_settings_are_masked_checked_and_kept(api: httpx.Client, service: Service) -> None:
    komga = FakeKomga(api_key="the-real-key-4242", libraries=[{"id": "K", "name": "All", "root": "/x"}])
    try:
        server = {"name": "home", "kind": "komga", "url": komga.url, "api_key": "the-real-key-4242"}
        saved = api.put("/api/integrations", json={"reader_servers": [server]})
        assert saved.status_code == 200 and "the-real-key-4242" not in saved.text
        assert saved.json()["reader_servers"][0]["api_key"] == "********"
        on_the_stream = [e.data for e in service.bus._ring if e is not None]  # what SSE clients get
        assert any("reader_servers" in data for data in on_the_stream)
        assert not any("the-real-key-4242" in data for data in on_the_stream)
        tested = api.post("/api/integrations/servers/test", json={"name": "home"}).json()
        assert tested["ok"] is True and tested["libraries"][0]["id"] == "K"
        form = {**saved.json()["reader_servers"][0], "api_key": "wrong-key"}
        refused = api.post("/api/integrations/servers/test", json={"name": "home", "server": form}).json()
        assert refused["ok"] is False and refused["refused"] is True
    finally:
        komga.close()
    bad = api.put("/api/integrations", json={"reader_servers": [{**server, "kind": "plex"}]})
    assert bad.status_code == 400 and "kind must be komga or kavita" in bad.json()["error"]["message"]
    assert service.settings.reader_servers[0]["api_key"] == "the-real-key-4242"
    missing = api.post("/api/integrations/servers/test", json={"name": "nobody"})
    assert missing.status_code == 404
    assert api.post("/api/integrations/notify/test").status_code == 409
    events = api.put("/api/integrations", json={"notify_events": {"duplicate": False}}).json()
    assert events["notify_events"]["duplicate"] is False and events["notify_events"]["job_finished"] is True
