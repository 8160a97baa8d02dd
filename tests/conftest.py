"""Shared fixtures: a real library folder, real settings, a real SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from comicmaintainer.config import Settings, load_settings
from comicmaintainer.library.process import Context
from comicmaintainer.library.store import Store


@pytest.fixture
def watched(tmp_path: Path) -> Path:
    root = tmp_path / "library"
    root.mkdir()
    return root


def make_settings(watched: Path, tmp_path: Path, **env: str) -> Settings:
    environ = {"WATCHED_DIR": str(watched), "CONFIG_DIR": str(tmp_path / "config"), **env}
    return load_settings(environ)


@pytest.fixture
def settings(watched: Path, tmp_path: Path) -> Settings:
    return make_settings(watched, tmp_path)


@pytest.fixture
def ctx(settings: Settings) -> Iterator[Context]:
    store = Store(settings.db_path)
    try:
        yield Context(settings=settings, store=store)
    finally:
        store.close()
