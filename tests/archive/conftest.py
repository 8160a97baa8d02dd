"""Fixtures for the archive tests: the shared RAR fixtures and the ComicInfo 2.0 schema.

The RAR files cannot be made at test time (no free tool writes RAR), so they are read in place
from the shared folder beside the repository and never copied into the project.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import xmlschema

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
RAR_DIR = SHARED / "fixtures" / "rar"
XSD_PATH = SHARED / "schemas" / "ComicInfo-v2.0.xsd"


@pytest.fixture
def rar_fixture() -> Callable[[str], Path]:
    """Path of one shared RAR fixture; the test is skipped when the shared folder is absent."""

    def get(name: str) -> Path:
        path = RAR_DIR / name
        if not path.is_file():
            pytest.skip(f"shared RAR fixture {name} not found in {RAR_DIR}")
        return path

    return get


@pytest.fixture(scope="session")
def comicinfo_schema() -> xmlschema.XMLSchema:
    if not XSD_PATH.is_file():
        pytest.skip(f"ComicInfo schema not found at {XSD_PATH}")
    return xmlschema.XMLSchema(str(XSD_PATH))


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
