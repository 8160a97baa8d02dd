"""Fixtures for the archive tests: the shared RAR fixtures and the ComicInfo 2.0 schema.

The RAR files cannot be made at test time (no free tool writes RAR), so they are read in place
from the shared folder beside the repository and never copied into the project.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
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
