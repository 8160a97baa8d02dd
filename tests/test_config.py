"""Settings from a dict environment and a real config.json in a temp folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from comicmaintainer.config import (
    EDITABLE_KEYS,
    ConfigError,
    Settings,
    load_settings,
    save_config,
)
from comicmaintainer.domain.naming import NamingRules


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    library = tmp_path / "library"
    library.mkdir()
    return {"WATCHED_DIR": str(library), "CONFIG_DIR": str(tmp_path / "config")}


def write_json(env: dict[str, str], data: object) -> Path:
    path = Path(env["CONFIG_DIR"]) / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def error_of(env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_defaults_and_derived_paths(env: dict[str, str]) -> None:
    settings = load_settings(env)
    config = Path(env["CONFIG_DIR"])
    assert settings.watched_dir == Path(env["WATCHED_DIR"])
    assert settings.duplicate_dir is None
    assert settings.max_workers == 4
    assert settings.log_max_bytes == 5 * 1024 * 1024
    assert settings.debug is False
    assert settings.filename_format == "{series} - Chapter {issue}"
    assert settings.issue_padding == 4
    assert (settings.watcher_enabled, settings.watcher_polling) == (True, False)
    assert (settings.polling_interval, settings.quiet_period) == (10.0, 5.0)
    assert settings.convert_cbr_to_cbz is True
    assert settings.job_retention_days == 7
    assert settings.db_path == config / "store" / "comicmaintainer.db"
    assert settings.log_path == config / "Log" / "ComicMaintainer.log"
    assert settings.config_json == config / "config.json"
    assert settings.journal_dir == config / "journal"
    assert settings.thumbs_dir == config / "cache" / "thumbs"
    assert settings.naming == NamingRules(template="{series} - Chapter {issue}", padding=4)
    assert (config / "store").is_dir() and (config / "Log").is_dir()


def test_environment_values(env: dict[str, str], tmp_path: Path) -> None:
    env |= {
        "DUPLICATE_DIR": str(tmp_path / "dupes"),
        "MAX_WORKERS": "8",
        "LOG_MAX_BYTES": "65536",
        "DEBUG_MODE": "Yes",
        "WATCHER_POLLING": "1",
        "WATCHER_POLLING_INTERVAL": "2.5",
    }
    settings = load_settings(env)
    assert settings.duplicate_dir == tmp_path / "dupes"
    assert settings.max_workers == 8
    assert settings.log_max_bytes == 65536
    assert settings.debug is True
    assert settings.watcher_polling is True
    assert settings.polling_interval == 2.5


def test_config_dir_that_cannot_be_created(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_text("x")
    env["CONFIG_DIR"] = str(tmp_path / "plain-file" / "config")
    assert "cannot be created" in error_of(env)


def test_config_json_overrides_environment(env: dict[str, str]) -> None:
    env["WATCHER_POLLING"] = "false"
    write_json(
        env,
        {
            "watcher_polling": True,
            "issue_padding": 3,
            "filename_format": "{series} v{volume} #{issue}",
            "quiet_period": 0,
            "watcher_enabled": False,
        },
    )
    settings = load_settings(env)
    assert settings.watcher_polling is True
    assert settings.issue_padding == 3
    assert settings.quiet_period == 0.0 and isinstance(settings.quiet_period, float)
    assert settings.watcher_enabled is False
    assert settings.naming == NamingRules(template="{series} v{volume} #{issue}", padding=3)


def test_watched_dir_unset(env: dict[str, str]) -> None:
    del env["WATCHED_DIR"]
    assert error_of(env) == "WATCHED_DIR is not set; point it at your comic library"
    env["WATCHED_DIR"] = "  "
    assert error_of(env) == "WATCHED_DIR is not set; point it at your comic library"


def test_watched_dir_missing_or_a_file(env: dict[str, str], tmp_path: Path) -> None:
    env["WATCHED_DIR"] = str(tmp_path / "nope")
    assert error_of(env) == f"WATCHED_DIR {tmp_path / 'nope'} does not exist"
    (tmp_path / "file").write_text("x")
    env["WATCHED_DIR"] = str(tmp_path / "file")
    assert "is not a folder" in error_of(env)


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("MAX_WORKERS", "abc"),
        ("MAX_WORKERS", "0"),
        ("MAX_WORKERS", "65"),
        ("MAX_WORKERS", "2.5"),
        ("LOG_MAX_BYTES", "100"),
        ("LOG_MAX_BYTES", str(2 * 1024**3)),
        ("DEBUG_MODE", "maybe"),
        ("WATCHER_POLLING", "2"),
        ("WATCHER_POLLING_INTERVAL", "0.5"),
        ("WATCHER_POLLING_INTERVAL", "nan"),
        ("WATCHER_POLLING_INTERVAL", "ten"),
    ],
)
def test_bad_environment_values(env: dict[str, str], var: str, value: str) -> None:
    env[var] = value
    message = error_of(env)
    assert var in message and repr(value) in message


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("issue_padding", 11),
        ("issue_padding", -1),
        ("issue_padding", "four"),
        ("issue_padding", 2.5),
        ("issue_padding", True),
        ("quiet_period", 3601),
        ("quiet_period", -0.1),
        ("polling_interval", 0),
        ("log_max_bytes", 1024),
        ("log_max_bytes", 1024**3 + 1),
        ("job_retention_days", 3651),
        ("watcher_enabled", "perhaps"),
        ("watcher_enabled", 1),
        ("convert_cbr_to_cbz", None),
        ("filename_format", 5),
        ("filename_format", "{series} {nope} {issue}"),
        ("filename_format", "{series}"),
    ],
)
def test_bad_config_json_values(env: dict[str, str], key: str, value: object) -> None:
    write_json(env, {key: value})
    message = error_of(env)
    assert key in message and repr(value) in message


def test_config_json_unknown_key(env: dict[str, str]) -> None:
    write_json(env, {"max_workers": 3})
    message = error_of(env)
    assert "unknown setting 'max_workers'" in message and "filename_format" in message


def test_config_json_bad_json_and_wrong_shape(env: dict[str, str]) -> None:
    path = write_json(env, {})
    path.write_text("{ not json", encoding="utf-8")
    assert "is not valid JSON" in error_of(env)
    path.write_text("[1, 2]", encoding="utf-8")
    assert "must hold a JSON object" in error_of(env)


def test_save_config_writes_and_merges(env: dict[str, str]) -> None:
    settings = load_settings(env)
    updated = save_config(settings, issue_padding=2, watcher_enabled=False)
    assert updated.issue_padding == 2 and updated.watcher_enabled is False
    assert settings.issue_padding == 4  # the old object is untouched (frozen)
    again = save_config(updated, filename_format="{series} #{issue_no_pad}")
    stored = json.loads(settings.config_json.read_text(encoding="utf-8"))
    assert stored == {
        "issue_padding": 2,
        "watcher_enabled": False,
        "filename_format": "{series} #{issue_no_pad}",
    }
    assert load_settings(env) == again
    assert [p.name for p in settings.config_dir.iterdir() if p.name.endswith(".tmp")] == []


def test_save_config_refuses_bad_values_and_keeps_file(env: dict[str, str]) -> None:
    settings = save_config(load_settings(env), issue_padding=3)
    before = settings.config_json.read_bytes()
    with pytest.raises(ConfigError, match=r"unknown placeholder \{bad\}"):
        save_config(settings, filename_format="{bad} {issue}")
    with pytest.raises(ConfigError, match="issue_padding must be an integer from 0 to 10, got 99"):
        save_config(settings, issue_padding=99)
    with pytest.raises(ConfigError, match="unknown setting 'debug'"):
        save_config(settings, debug=True)
    assert settings.config_json.read_bytes() == before


def test_save_config_is_atomic_replace(env: dict[str, str]) -> None:
    """The new file arrives by rename: an open handle on the old file still sees the old content."""
    settings = save_config(load_settings(env), issue_padding=1)
    old_inode = settings.config_json.stat().st_ino
    with settings.config_json.open(encoding="utf-8") as old:
        save_config(settings, issue_padding=5)
        assert json.load(old) == {"issue_padding": 1}
    assert settings.config_json.stat().st_ino != old_inode
    assert json.loads(settings.config_json.read_text(encoding="utf-8")) == {"issue_padding": 5}


def test_editable_keys_are_settings_fields() -> None:
    fields = set(Settings.__dataclass_fields__)
    assert set(EDITABLE_KEYS) <= fields
    assert set(EDITABLE_KEYS) == {
        "filename_format",
        "issue_padding",
        "watcher_enabled",
        "watcher_polling",
        "polling_interval",
        "quiet_period",
        "log_max_bytes",
        "convert_cbr_to_cbz",
        "job_retention_days",
        "reader_servers",
        "reader_debounce",
        "notify_urls",
        "notify_events",
        "notify_group_seconds",
        "volume_format",
        "range_format",
        "part_format",
        "special_format",
        "title_format",
        "volume_padding",
        "number_volumes",
    }


def test_reader_and_notification_settings_are_checked(env: dict[str, str]) -> None:
    settings = load_settings(env)
    server = {"name": "home", "kind": "kavita", "url": "http://kavita:5000/", "api_key": "k"}
    saved = save_config(settings, reader_servers=[server], notify_events={"duplicate": False})
    assert saved.reader_servers[0]["url"] == "http://kavita:5000"
    assert saved.reader_servers[0]["libraries"] == [] and saved.reader_servers[0]["enabled"] is True
    assert saved.notify_events["duplicate"] is False and saved.notify_events["job_finished"] is True
    assert load_settings(env).reader_servers == saved.reader_servers
    refused = [
        ({"reader_servers": [{**server, "kind": "plex"}]}, "reader_servers server 1 (home) kind must be"),
        ({"reader_servers": [server, server]}, "reader_servers must give each server its own name"),
        ({"reader_servers": [{**server, "url": "ftp://x"}]}, "url must be an http(s) address"),
        ({"reader_servers": [{**server, "api_key": ""}]}, "needs an api_key"),
        ({"reader_servers": "home"}, "reader_servers must be a list, got 'home'"),
        ({"notify_urls": ["not a url"]}, "notify_urls URL 1 must look like scheme://"),
        ({"notify_events": {"parties": True}}, "notify_events has unknown event(s) parties"),
        ({"reader_debounce": -1}, "reader_debounce must be a number from 0 to 3600"),
    ]
    for changes, message in refused:
        with pytest.raises(ConfigError) as caught:
            save_config(settings, **changes)
        assert message in str(caught.value), (changes, str(caught.value))
