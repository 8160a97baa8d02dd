"""Settings, preferences, logs, history with undo, health, version, stats over HTTP."""

from __future__ import annotations

import json
import logging

import httpx

from comicmaintainer.logs import setup_logging
from tests.web.processing import process_now
from tests.web.test_api_files import api, service  # noqa: F401 - fixtures


def test_settings_validate_persist_and_preview(api: httpx.Client, service) -> None:  # noqa: F811
    assert api.get("/api/settings").json()["issue_padding"] == 4
    changed = api.put("/api/settings", json={"issue_padding": 3, "filename_format": "{series} #{issue}"})
    assert changed.status_code == 200 and changed.json()["issue_padding"] == 3
    assert json.loads(service.settings.config_json.read_text())["issue_padding"] == 3
    assert service.ctx.settings.issue_padding == 3
    bad = api.put("/api/settings", json={"filename_format": "{series} {nope}"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_setting"
    assert api.put("/api/settings", json={"issue_padding": 99}).status_code == 422
    assert api.put("/api/settings", json={"unknown": 1}).status_code == 422
    assert api.get("/api/settings").json()["filename_format"] == "{series} #{issue}"
    preview = api.post(
        "/api/settings/preview",
        json={
            "filename_format": "{series} - Chapter {issue}",
            "issue_padding": 3,
            "path": "Berserk/Berserk ch1.cbz",
        },
    )
    assert preview.json()["name"] == "Berserk - Chapter 001.cbz"
    assert preview.json()["path"] == "Berserk/Berserk ch1.cbz"
    refused = api.post("/api/settings/preview", json={"filename_format": "{bogus}"})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "bad_template"


def test_every_kind_has_its_template_setting_and_preview(api: httpx.Client, service) -> None:  # noqa: F811
    changed = api.put("/api/settings", json={"volume_format": "{series} v{volume}", "volume_padding": 3})
    assert changed.status_code == 200 and changed.json()["volume_format"] == "{series} v{volume}"
    assert service.ctx.settings.naming.volume_template == "{series} v{volume}"
    refused = api.put("/api/settings", json={"range_format": "{series} {issue}"})
    assert refused.status_code == 400
    assert "range_format" in refused.json()["error"]["message"]
    assert "{issue_end}" in refused.json()["error"]["message"]
    body = {
        "filename_format": "{series} - Chapter {issue}",
        "part_format": "{series} {issue} pt{part}",
        "title_format": "Chapter {issue} - {chapter_title}",
        "path": "Berserk/Berserk ch1.cbz",
    }
    kinds = {k["kind"]: k for k in api.post("/api/settings/preview", json=body).json()["kinds"]}
    assert kinds["volume"]["name"] == "Berserk v003.cbz"  # the saved template and volume padding
    assert kinds["part"]["name"] == "Berserk 0050 pt2.cbz"
    assert kinds["range"]["name"] == "Berserk - Chapter 0001-0008.cbz"
    assert kinds["special"]["name"] == "Berserk - Volume 010 Extra.cbz"
    assert kinds["chapter"]["title"] == "Chapter 5 - The Beginning"
    bad = api.post("/api/settings/preview", json={**body, "special_format": "{series}"})
    assert bad.status_code == 400 and "{special}" in bad.json()["error"]["message"]


def test_preferences_persist(api: httpx.Client, service) -> None:  # noqa: F811
    assert api.get("/api/preferences").json() == {"theme": "light", "per_page": 100, "last_filter": "all"}
    api.put("/api/preferences", json={"theme": "dark", "last_filter": "duplicates"})
    assert service.store.get_kv("preferences") == {"theme": "dark", "last_filter": "duplicates"}
    assert api.get("/api/preferences").json()["theme"] == "dark"
    assert api.put("/api/preferences", json={"theme": "pink"}).status_code == 422


def test_logs_with_level(api: httpx.Client, service) -> None:  # noqa: F811
    setup_logging(service.settings)
    logging.getLogger("comicmaintainer.test").warning("a warning for the page")
    logging.getLogger("comicmaintainer.test").info("an info line")
    lines = api.get("/api/logs", params={"lines": 50, "level": "WARNING"}).json()["lines"]
    assert any("a warning for the page" in line for line in lines)
    assert not any("an info line" in line for line in lines)


def test_history_and_undo(api: httpx.Client, service) -> None:  # noqa: F811
    rel = "Frieren/stale tags.cbz"
    result = process_now(api, rel)
    assert result["outcome"] == "processed" and result["new_path"]
    action = api.get("/api/history").json()["actions"][0]
    assert action["id"] == result["action_id"] and action["state"] == "done"
    undone = api.post(f"/api/history/{action['id']}/undo")
    assert undone.status_code == 200 and "undone" in undone.json()["message"]
    assert (service.settings.watched_dir / rel).is_file()
    assert api.post(f"/api/history/{action['id']}/undo").json()["error"]["code"] == "cannot_undo"
    assert api.post("/api/history/424242/undo").status_code == 404


def test_health_version_stats(api: httpx.Client, service) -> None:  # noqa: F811
    health = api.get("/api/health")
    assert health.status_code == 200 and health.json()["database"]["ok"]
    assert api.get("/api/version").json()["version"]
    stats = api.get("/api/stats").json()
    assert stats["counts"]["all"] > 0 and stats["database_bytes"] > 0
    renamed = service.settings.watched_dir.with_name("moved away")
    service.settings.watched_dir.rename(renamed)
    try:
        sick = api.get("/api/health")
        assert sick.status_code == 503 and not sick.json()["watched_folder"]["ok"]
    finally:
        renamed.rename(service.settings.watched_dir)
