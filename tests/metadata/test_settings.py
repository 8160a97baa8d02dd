"""The metadata settings: validated like every setting, documented, defaults within the limits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from comicmaintainer import config
from comicmaintainer.config import METADATA_KEYS, PUBLISHED_PER_MINUTE, ConfigError, Settings, save_config
from tests.conftest import make_settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "OPERATIONS.md"


def test_every_metadata_setting_is_documented_with_its_default() -> None:
    text = DOC.read_text(encoding="utf-8")
    defaults = Settings(Path("/w"), None, Path("/c"))
    for key in METADATA_KEYS:
        row = re.search(rf"^\| `{key}` \| ([^|]*) \|", text, re.M)
        assert row, f"add {key} to docs/OPERATIONS.md"
        value = getattr(defaults, key)
        shown = "(none)" if value == "" else f"`{_plain(value)}`"
        assert row.group(1).strip() == shown, key


def _plain(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}" if isinstance(value, float) else str(value)


def test_default_rates_are_within_the_published_limits() -> None:
    defaults = Settings(Path("/w"), None, Path("/c"))
    for name, limit in PUBLISHED_PER_MINUTE.items():
        assert 0 < getattr(defaults, f"{name}_per_minute") <= limit, name


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"anilist_per_minute": 91}, "anilist_per_minute must be a number from 0.1 to 90, got 91"),
        ({"metadata_manga_order": "anilist,myanimelist"}, "metadata_manga_order must list sources from"),
        ({"mangadex_url": "ftp://x"}, "mangadex_url must start with http:// or https://, got 'ftp://x'"),
        ({"metadata_kind": "novel"}, "metadata_kind must be manga or comics, got 'novel'"),
    ],
)
def test_bad_values_are_refused_with_one_line(
    watched: Path, tmp_path: Path, changes: dict, message: str
) -> None:
    settings = make_settings(watched, tmp_path)
    with pytest.raises(ConfigError) as refused:
        save_config(settings, **changes)
    assert message in str(refused.value) and "\n" not in str(refused.value)


def test_saved_in_config_json_and_secrets_from_the_environment(watched: Path, tmp_path: Path) -> None:
    settings = make_settings(watched, tmp_path, COMICVINE_API_KEY="from-env")
    assert settings.comicvine_api_key == "from-env"
    saved = save_config(settings, metadata_overwrite=True, mangadex_per_minute=60)
    again = make_settings(watched, tmp_path)
    assert saved.metadata_overwrite and again.metadata_overwrite and again.mangadex_per_minute == 60
    assert set(METADATA_KEYS) >= config.SECRET_KEYS
