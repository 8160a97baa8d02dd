from __future__ import annotations

import zipfile
from pathlib import Path

from comicmaintainer.archive.detect import detect_format
from tests.archive_factory import make_cbz


def test_zip_is_detected_whatever_the_extension(tmp_path: Path) -> None:
    assert detect_format(make_cbz(tmp_path / "a.cbz")) == "zip"
    assert detect_format(make_cbz(tmp_path / "really-a-zip.cbr")) == "zip"


def test_empty_zip_is_still_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "empty.cbz"
    zipfile.ZipFile(path, "w").close()
    assert detect_format(path) == "zip"


def test_rar3_and_rar5_are_detected(rar_fixture) -> None:
    assert detect_format(rar_fixture("rar3-solid.rar")) == "rar"
    assert detect_format(rar_fixture("pages-rar5.cbr")) == "rar"


def test_rar_renamed_to_cbz_is_rar(tmp_path: Path, rar_fixture) -> None:
    path = tmp_path / "liar.cbz"
    path.write_bytes(rar_fixture("pages-rar5.cbr").read_bytes())
    assert detect_format(path) == "rar"


def test_empty_and_foreign_files_are_unknown(tmp_path: Path) -> None:
    empty = tmp_path / "empty.cbz"
    empty.write_bytes(b"")
    pdf = tmp_path / "doc.cbz"
    pdf.write_bytes(b"%PDF-1.7\n...")
    short = tmp_path / "short.cbz"
    short.write_bytes(b"P")
    assert [detect_format(p) for p in (empty, pdf, short)] == ["unknown"] * 3
