from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from comicmaintainer.archive.errors import ArchiveError
from comicmaintainer.archive.reader import read_archive
from tests.archive.conftest import file_digest
from tests.archive_factory import make_cbz, page_bytes

INFO = b"<?xml version='1.0'?><ComicInfo><Series>Re:Zero</Series><Number>5</Number></ComicInfo>"
ENTITIES = b'<!DOCTYPE a [<!ENTITY e "x">]><ComicInfo/>'


def test_cbz_without_comicinfo(tmp_path: Path) -> None:
    info = read_archive(make_cbz(tmp_path / "a.cbz", pages=3))
    assert info.format == "zip"
    assert info.pages == ["page001.jpg", "page002.jpg", "page003.jpg"]
    assert info.comicinfo is None
    assert info.metadata.series is None
    assert len(info.content_id) == 64 and int(info.content_id, 16) >= 0


@pytest.mark.parametrize("position", ["first", "last"])
@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_cbz_with_comicinfo(tmp_path: Path, position: str, compression: int) -> None:
    path = make_cbz(tmp_path / "a.cbz", comicinfo=INFO, comicinfo_position=position, compression=compression)
    info = read_archive(path)
    assert info.comicinfo == INFO
    assert (info.metadata.series, info.metadata.issue) == ("Re:Zero", "5")
    assert "ComicInfo.xml" not in info.pages and len(info.pages) == 3


def test_cbr_that_is_really_a_zip(tmp_path: Path) -> None:
    info = read_archive(make_cbz(tmp_path / "a.cbr", comicinfo=INFO))
    assert info.format == "zip" and info.metadata.series == "Re:Zero"


def test_page_order_and_filtering(tmp_path: Path) -> None:
    path = tmp_path / "mixed.cbz"
    with zipfile.ZipFile(path, "w") as zf:
        for name in ["page10.jpg", "page2.jpg", "Page1.PNG", "__MACOSX/._page3.jpg", ".hidden.jpg",
                     "notes.txt", "sub/.dot/x.jpg", "extra/page3.webp"]:  # fmt: skip
            zf.writestr(name, page_bytes(len(name)))
        zf.writestr("scans/", b"")
        zf.writestr("sub/ComicInfo.xml", b"<ComicInfo><Series>wrong one</Series></ComicInfo>")
        zf.writestr("comicinfo.XML", INFO)
    info = read_archive(path)
    assert info.pages == ["extra/page3.webp", "Page1.PNG", "page2.jpg", "page10.jpg"]
    assert info.metadata.series == "Re:Zero"


def test_rar5_comic_pages_in_reading_order(rar_fixture) -> None:
    info = read_archive(rar_fixture("pages-rar5.cbr"))
    assert info.format == "rar"
    assert info.pages == [
        "!cover.jpg", "00.jpg", "page0.jpg", "Page1.jpeg",
        "Page2.png", "Page3.gif", "page4.webp", "page10.jpg",
    ]  # fmt: skip
    assert info.comicinfo is None


def test_content_id_ignores_compression_and_names_but_not_content(tmp_path: Path) -> None:
    stored = read_archive(make_cbz(tmp_path / "a.cbz", compression=zipfile.ZIP_STORED))
    deflated = read_archive(make_cbz(tmp_path / "b.cbz", compression=zipfile.ZIP_DEFLATED, comicinfo=INFO))
    other = read_archive(make_cbz(tmp_path / "c.cbz", seed=1))
    assert stored.content_id == deflated.content_id
    assert stored.content_id != other.content_id


def _truncated(tmp_path: Path) -> Path:
    path = make_cbz(tmp_path / "t.cbz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _bad_comicinfo_crc(tmp_path: Path) -> Path:
    path = make_cbz(tmp_path / "crc.cbz", comicinfo=INFO)
    data = bytearray(path.read_bytes())
    at = data.rindex(b"Re:Zero")  # stored: the XML sits in the file as is
    data[at] = ord("X")
    path.write_bytes(bytes(data))
    return path


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _zip_of(tmp_path: Path, entries: dict[str, bytes]) -> Path:
    path = tmp_path / "z.cbz"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


BAD_ZIPS = {
    "empty": (lambda tp: _write(tp, "e.cbz", b""), "empty file"),
    "not an archive": (lambda tp: _write(tp, "n.cbz", b"%PDF-1.7 not a comic"), "not a comic archive"),
    "truncated": (_truncated, "damaged or truncated zip archive"),
    "bad comicinfo crc": (_bad_comicinfo_crc, "ComicInfo.xml is damaged"),
    "no images": (lambda tp: _zip_of(tp, {"readme.txt": b"hi", "ComicInfo.xml": INFO}), "holds no images"),
    "comicinfo not xml": (lambda tp: _zip_of(tp, {"p.jpg": b"x", "ComicInfo.xml": b"<oops"}), "not valid"),
    "comicinfo entities": (
        lambda tp: _zip_of(tp, {"p.jpg": b"x", "ComicInfo.xml": ENTITIES}),
        "DTDs and entities are refused",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_ZIPS))
def test_bad_zip_inputs_give_one_line_and_stay_intact(tmp_path: Path, case: str) -> None:
    make, expected = BAD_ZIPS[case]
    path = make(tmp_path)
    before = file_digest(path)
    with pytest.raises(ArchiveError) as caught:
        read_archive(path)
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value) and "Traceback" not in str(caught.value)
    assert file_digest(path) == before


def test_page_crc_is_not_checked_on_read(tmp_path: Path) -> None:
    path = make_cbz(tmp_path / "p.cbz", pages=2)
    data = bytearray(path.read_bytes())
    data[200] ^= 0xFF  # inside the first stored page
    path.write_bytes(bytes(data))
    assert read_archive(path).pages == ["page001.jpg", "page002.jpg"]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="file not found"):
        read_archive(tmp_path / "gone.cbz")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("rar5-psw.rar", "password-protected RAR is not supported"),
        ("rar3-comment-psw.rar", "password-protected RAR is not supported"),
        ("rar5-hpsw.rar", "password-protected RAR is not supported"),
        ("rar5-vols.part1.rar", "multi-volume RAR is not supported"),
        ("rar5-vols.part2.rar", "multi-volume RAR is not supported"),
        ("rar3-old.rar", "multi-volume RAR is not supported"),
        ("rar3-solid.rar", "archive holds no images"),
    ],
)
def test_unusable_rar_fixtures(rar_fixture, name: str, expected: str) -> None:
    path = rar_fixture(name)
    with pytest.raises(ArchiveError) as caught:
        read_archive(path)
    assert str(caught.value) == expected


def test_lone_first_volume_is_multi_volume(tmp_path: Path, rar_fixture) -> None:
    lone = tmp_path / "rar5-vols.part1.rar"
    lone.write_bytes(rar_fixture("rar5-vols.part1.rar").read_bytes())
    with pytest.raises(ArchiveError, match="^multi-volume RAR is not supported$"):
        read_archive(lone)


@pytest.mark.parametrize("keep", [20, 200, 478])
def test_truncated_rar_is_damaged(tmp_path: Path, rar_fixture, keep: int) -> None:
    path = tmp_path / "cut.cbr"
    path.write_bytes(rar_fixture("pages-rar5.cbr").read_bytes()[:keep])
    with pytest.raises(ArchiveError, match="^damaged or unreadable RAR archive: "):
        read_archive(path)
