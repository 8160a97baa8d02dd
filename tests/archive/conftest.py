"""Fixtures for the archive tests: the RAR archives and the ComicInfo schemas in .fixtures/.

No free tool writes RAR, so the archives are real ones from versioned releases on the package index,
fetched by `make install` (tools/fetch_fixtures.py); tests/fixture_files.py says where they are.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fixture_files import ComicInfoSchemas, rar_path


@pytest.fixture
def rar_fixture() -> Callable[[str], Path]:
    """Path of one RAR fixture; the test fails, saying how to get it, when it is missing."""
    return rar_path


@pytest.fixture(scope="session")
def comicinfo_schema() -> ComicInfoSchemas:
    """ComicInfo 2.1 draft (comicbox's copy), and 2.0 when ../shared is beside the project."""
    return ComicInfoSchemas()


def file_digest(path: Path) -> str:
    """sha256 of a whole file, to prove it was left byte-identical."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    command = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)]
    done = subprocess.run(command, capture_output=True)
    return done.returncode == 0


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mount a tiny tmpfs (a real full disk, a real read-only or foreign filesystem); root only."""
    mounted: list[Path] = []

    def mount(size: str = "1m") -> Path:
        where = tmp_path / f"mnt{len(mounted)}"
        if not _mount_tmpfs(where, size):
            pytest.skip("cannot mount a tmpfs here (needs root and mount permission)")
        mounted.append(where)
        return where

    yield mount
    for where in reversed(mounted):
        subprocess.run(["umount", "-l", str(where)], check=False)


def remount_read_only(where: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
