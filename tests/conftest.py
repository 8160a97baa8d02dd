"""Shared fixtures: a real library folder, real settings, a real SQLite store."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from comicmaintainer.config import Settings, load_settings
from comicmaintainer.library.process import Context
from comicmaintainer.library.store import Store
from comicmaintainer.logs import PACKAGE_LOGGER


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


@pytest.fixture
def package_logger() -> Iterator[None]:
    """setup_logging configures a process-wide logger (as the CLI does before `serve`); the test that
    calls it gets the logger back as it was."""
    logger = logging.getLogger(PACKAGE_LOGGER)
    before, level = list(logger.handlers), logger.level
    yield
    for handler in list(logger.handlers):
        if handler not in before:
            logger.removeHandler(handler)
            handler.close()
    logger.setLevel(level)
