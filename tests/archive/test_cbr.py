from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
import rarfile

from comicmaintainer.archive.cbr import convert_rar_to_cbz
from comicmaintainer.archive.errors import ArchiveError
from comicmaintainer.archive.reader import read_archive
from tests.archive.conftest import file_digest
from tests.archive_factory import make_cbz, page_hashes

XML = b"<?xml version='1.0'?><ComicInfo><Series>Converted</Series></ComicInfo>"
LOSSLESS = ["pages-rar5.cbr", "rar3-solid.rar", "rar5-solid-qo.rar", "rar3-subdirs.rar", "rar5-subdirs.rar",
            "unicode.rar"]  # fmt: skip


def _nothing_written(folder: Path) -> bool:
    return os.listdir(folder) == []


@pytest.mark.parametrize("name", LOSSLESS)
def test_conversion_keeps_every_file_byte_for_byte(tmp_path: Path, rar_fixture, name: str) -> None:
    src = rar_fixture(name)
    dst = tmp_path / "out.cbz"
    convert_rar_to_cbz(src, dst, XML)
    with rarfile.RarFile(src) as rf, zipfile.ZipFile(dst) as zf:
        members = {i.filename: rf.read(i) for i in rf.infolist() if i.is_file()}
        assert zf.testzip() is None
        assert {n: zf.read(n) for n in zf.namelist() if n != "ComicInfo.xml"} == members
        assert zf.namelist()[-1] == "ComicInfo.xml" and zf.read("ComicInfo.xml") == XML
    assert os.listdir(tmp_path) == ["out.cbz"]


def test_comic_pages_come_first_in_reading_order(tmp_path: Path, rar_fixture) -> None:
    src = rar_fixture("pages-rar5.cbr")
    dst = tmp_path / "comic.cbz"
    convert_rar_to_cbz(src, dst, None)
    before, after = read_archive(src), read_archive(dst)
    assert after.pages == before.pages
    assert after.content_id == before.content_id
    assert page_hashes(dst) == page_hashes(src)
    with zipfile.ZipFile(dst) as zf:
        names = zf.namelist()
        assert names[: len(before.pages)] == before.pages
        assert "ComicInfo.xml" not in names
        assert all(zf.getinfo(p).compress_type == zipfile.ZIP_STORED for p in before.pages)


def test_existing_destination_is_never_replaced(tmp_path: Path, rar_fixture) -> None:
    dst = make_cbz(tmp_path / "taken.cbz")
    before = file_digest(dst)
    with pytest.raises(FileExistsError):
        convert_rar_to_cbz(rar_fixture("pages-rar5.cbr"), dst, XML)
    assert file_digest(dst) == before
    assert os.listdir(tmp_path) == ["taken.cbz"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("rar5-psw.rar", "^password-protected RAR is not supported$"),
        ("rar5-hpsw.rar", "^password-protected RAR is not supported$"),
        ("rar3-comment-psw.rar", "^password-protected RAR is not supported$"),
        ("rar5-vols.part1.rar", "^multi-volume RAR is not supported$"),
        ("rar3-old.rar", "^multi-volume RAR is not supported$"),
        ("rar15-comment.rar", "^damaged or unreadable RAR archive: "),
    ],
)
def test_unconvertible_rars_leave_no_destination(
    tmp_path: Path, rar_fixture, name: str, expected: str
) -> None:
    with pytest.raises(ArchiveError, match=expected):
        convert_rar_to_cbz(rar_fixture(name), tmp_path / "out.cbz", XML)
    assert _nothing_written(tmp_path)


def test_truncated_rar_leaves_no_destination(tmp_path: Path, rar_fixture) -> None:
    src = tmp_path / "src" / "cut.cbr"
    src.parent.mkdir()
    src.write_bytes(rar_fixture("pages-rar5.cbr").read_bytes()[:300])
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ArchiveError, match="^damaged or unreadable RAR archive"):
        convert_rar_to_cbz(src, out / "cut.cbz", None)
    assert _nothing_written(out)


def test_a_zip_is_not_converted(tmp_path: Path) -> None:
    src = make_cbz(tmp_path / "in" / "zip.cbr")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ArchiveError, match="^not a RAR archive: zip.cbr is zip$"):
        convert_rar_to_cbz(src, out / "zip.cbz", None)
    assert _nothing_written(out)


def test_disk_full_leaves_no_destination(rar_fixture, small_tmpfs) -> None:
    folder = small_tmpfs("4k")  # one page of tmpfs
    # Random text does not deflate, so this ComicInfo.xml alone is bigger than the disk.
    big_xml = b"<ComicInfo><Notes>" + os.urandom(12_000).hex().encode() + b"</Notes></ComicInfo>"
    with pytest.raises(ArchiveError, match="^disk full while writing out.cbz$"):
        convert_rar_to_cbz(rar_fixture("pages-rar5.cbr"), folder / "out.cbz", big_xml)
    assert _nothing_written(folder)
