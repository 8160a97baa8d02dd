"""In-place ComicInfo.xml writes on real archives, checked by zipfile, unzip, 7z and comicapi."""

from __future__ import annotations

import random
import struct
import subprocess
import warnings
import zipfile
from pathlib import Path

import pytest
from comicapi.comicarchive import ComicArchive

from comicmaintainer.archive import journal, unflushed
from comicmaintainer.archive.cbz_inplace import write_comicinfo_inplace
from comicmaintainer.archive.errors import ArchiveError
from tests.archive_inplace import (
    INFO,
    OLD_XML,
    build_cbz,
    local_extras,
    new_xml,
    page_hashes,
    read_info,
    tool_errors,
    walk_local_headers,
)
from tests.fixture_files import need_tool

STORED, DEFLATED = zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED


def assert_whole(path: Path, pages: dict[str, str], xml: bytes) -> None:
    """Pages unchanged, ComicInfo.xml is ``xml`` for every reader, tools see no problem."""
    assert page_hashes(path) == pages
    assert read_info(path) == xml
    assert tool_errors(path) == []
    streamed = [content for name, content in walk_local_headers(path) if name == INFO]
    assert streamed == [xml], "a streaming reader sees a stale or extra ComicInfo.xml"


@pytest.mark.parametrize("compression", [STORED, DEFLATED])
@pytest.mark.parametrize("info", ["first", "middle", "last", "absent"])
def test_write_in_place(tmp_path: Path, info: str, compression: int) -> None:
    path = build_cbz(tmp_path / "a.cbz", info=info, compression=compression)
    pages = page_hashes(path)
    xml = new_xml("New Series")
    assert write_comicinfo_inplace(path, xml, tmp_path / "journal") is True
    assert_whole(path, pages, xml)
    assert ComicArchive(path).read_tags("cr").series == "New Series"
    unflushed.wait_all()  # the archive's flush, then the record's clearing, follow the call
    assert journal.pending(tmp_path / "journal") == []


@pytest.mark.parametrize("info", ["first", "middle"])
def test_info_not_last_is_covered_without_moving_pages(tmp_path: Path, info: str) -> None:
    """The next entry's new header pads over the old ComicInfo.xml; page data stays in place."""
    path = build_cbz(tmp_path / "a.cbz", info=info, compression=DEFLATED, xml=new_xml("Old", 800))
    with zipfile.ZipFile(path) as zf:
        data_offsets = {i.filename: _data_offset(path, i) for i in zf.infolist() if i.filename != INFO}
    pages, xml = page_hashes(path), new_xml("New")
    assert write_comicinfo_inplace(path, xml, tmp_path / "j") is True
    assert_whole(path, pages, xml)
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist()[-1] == INFO, "ComicInfo.xml is now last, so later writes are cheap"
        assert {
            i.filename: _data_offset(path, i) for i in zf.infolist() if i.filename != INFO
        } == data_offsets
    raw = path.read_bytes()
    assert raw.count(b"Old") == 0, "no stale ComicInfo.xml bytes left anywhere"
    assert raw.count(INFO.encode()) == 2, "one local header, one central record"
    assert _extra_blocks_are_well_formed(raw)
    assert write_comicinfo_inplace(path, new_xml("Again"), tmp_path / "j") is True
    assert_whole(path, pages, new_xml("Again"))


def test_info_too_large_to_cover_is_left_to_the_full_copy(tmp_path: Path) -> None:
    """More than one extra field (64 KiB) between the entries before and after: no in-place write."""
    big = new_xml("Old").replace(
        b"</ComicInfo>", b"<Notes>" + bytes(range(97, 123)) * 4000 + b"</Notes></ComicInfo>"
    )
    path = build_cbz(tmp_path / "a.cbz", info="first", xml=big)
    before = path.read_bytes()
    assert write_comicinfo_inplace(path, new_xml("X"), tmp_path / "journal") is False
    assert path.read_bytes() == before


def _data_offset(path: Path, info: zipfile.ZipInfo) -> int:
    with path.open("rb") as f:
        f.seek(info.header_offset + 26)
        name_length, extra_length = struct.unpack("<2H", f.read(4))
    return info.header_offset + 30 + name_length + extra_length


def _extra_blocks_are_well_formed(raw: bytes) -> bool:
    """Every local header's extra field is a sequence of (id, size, data) blocks filling it exactly."""
    for _, extra in local_extras(raw):
        pos = 0
        while pos + 4 <= len(extra):
            pos += 4 + struct.unpack_from("<2H", extra, pos)[1]
        if pos != len(extra):
            return False
    return True


def test_repeated_writes_grow_and_shrink(tmp_path: Path) -> None:
    path = build_cbz(tmp_path / "a.cbz", compression=DEFLATED, comment=b"scanned by someone")
    pages, sizes = page_hashes(path), []
    for n, padding in enumerate([10, 5000, 0, 300, 4000, 1]):
        xml = new_xml(f"Series {n}", padding)
        assert write_comicinfo_inplace(path, xml, tmp_path / "j") is True
        assert_whole(path, pages, xml)
        with zipfile.ZipFile(path) as zf:
            assert zf.comment == b"scanned by someone"
        sizes.append(path.stat().st_size)
    assert sizes[1] > sizes[0] > sizes[2] and sizes[4] > sizes[3] > sizes[5]


def test_same_xml_changes_nothing(tmp_path: Path) -> None:
    path = build_cbz(tmp_path / "a.cbz")
    xml = new_xml("Same")
    assert write_comicinfo_inplace(path, xml, tmp_path / "j")
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    assert write_comicinfo_inplace(path, xml, tmp_path / "j")
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


@pytest.mark.parametrize("info", ["first", "last"])
@pytest.mark.parametrize("compression", [STORED, DEFLATED])
def test_data_descriptors(tmp_path: Path, compression: int, info: str) -> None:
    path = build_cbz(tmp_path / "a.cbz", descriptors=True, compression=compression, info=info)
    pages = page_hashes(path)
    for tag in ("One", "Two"):
        assert write_comicinfo_inplace(path, new_xml(tag, 200), tmp_path / "j")
        assert_whole(path, pages, new_xml(tag, 200))


@pytest.mark.parametrize("zip64", ["end", "all"])
@pytest.mark.parametrize("info", ["first", "last", "absent"])
def test_zip64_written_in_place(tmp_path: Path, zip64: str, info: str) -> None:
    path = build_cbz(tmp_path / "a.cbz", zip64=zip64, info=info, comment=b"c")
    pages = page_hashes(path)
    for tag in ("One", "Two"):
        assert write_comicinfo_inplace(path, new_xml(tag), tmp_path / "j")
        assert_whole(path, pages, new_xml(tag))
    assert path.read_bytes().count(b"PK\x06\x06") == 1, "ZIP64 end record kept"


def test_more_than_65535_entries(tmp_path: Path) -> None:
    path = tmp_path / "many.cbz"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(65_540):
            zf.writestr(f"p{i:05d}.jpg", b"x")
    assert write_comicinfo_inplace(path, new_xml("Many"), tmp_path / "j")
    with zipfile.ZipFile(path) as zf:
        assert len(zf.infolist()) == 65_541
        assert zf.read(INFO) == new_xml("Many")
    assert write_comicinfo_inplace(path, new_xml("Many again"), tmp_path / "j")
    assert read_info(path) == new_xml("Many again")


def test_offsets_beyond_4_gib(tmp_path: Path) -> None:
    """ComicInfo.xml after a 5 GiB hole (sparse, costs no disk): its offset needs ZIP64."""
    path = tmp_path / "huge.cbz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("page000.jpg", b"page")
        assert zf.fp is not None
        zf.start_dir = 5 << 30  # the next entry goes after a hole
        zf.writestr(INFO, OLD_XML)
    for tag in ("One", "Two, longer " * 20):
        assert write_comicinfo_inplace(path, new_xml(tag), tmp_path / "j")
        with zipfile.ZipFile(path) as zf:
            assert zf.getinfo(INFO).header_offset == 5 << 30
            assert zf.read(INFO) == new_xml(tag)
            assert zf.read("page000.jpg") == b"page"


def _set_flag_in_central(path: Path, flag: int) -> None:
    data = bytearray(path.read_bytes())
    pos = data.index(b"PK\x01\x02")
    data[pos + 8] |= flag
    path.write_bytes(bytes(data))


def _duplicate_info(path: Path) -> None:
    with warnings.catch_warnings(), zipfile.ZipFile(path, "a") as zf:
        warnings.simplefilter("ignore")
        zf.writestr(INFO, OLD_XML)


FALLBACKS = {
    "trailing bytes": lambda p: p.write_bytes(p.read_bytes() + b"junk"),
    "encrypted entry": lambda p: _set_flag_in_central(p, 0x01),
    "duplicate ComicInfo.xml": _duplicate_info,
    "lower-case name": lambda p: _append(build_cbz(p, info="absent"), "comicinfo.xml"),
    "not a zip": lambda p: p.write_bytes(b"not a zip at all" * 10),
    "empty file": lambda p: p.write_bytes(b""),
    "truncated": lambda p: p.write_bytes(p.read_bytes()[:-30]),
}


def _append(path: Path, name: str) -> None:
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr(name, OLD_XML)


@pytest.mark.parametrize("damage", sorted(FALLBACKS))
def test_unusual_layouts_fall_back_untouched(tmp_path: Path, damage: str) -> None:
    path = build_cbz(tmp_path / "a.cbz")
    FALLBACKS[damage](path)
    before = path.read_bytes()
    assert write_comicinfo_inplace(path, new_xml("X"), tmp_path / "j") is False
    assert path.read_bytes() == before


def test_missing_file_is_left_to_the_full_copy(tmp_path: Path) -> None:
    """The full copy reports a vanished or read-only file in its own words."""
    assert write_comicinfo_inplace(tmp_path / "gone.cbz", new_xml("X"), tmp_path / "j") is False


def test_journal_folder_that_cannot_be_made_is_an_error(tmp_path: Path) -> None:
    path = build_cbz(tmp_path / "a.cbz")
    before = path.read_bytes()
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(ArchiveError, match="cannot save the undo journal for a.cbz"):
        write_comicinfo_inplace(path, new_xml("X"), tmp_path / "file" / "journal")
    assert path.read_bytes() == before


def _made_by(tool: str, folder: Path, names: list[str], out: Path) -> Path:
    """An archive made by a real zip tool: Info-ZIP keeps the order given, 7-Zip sorts by name."""
    commands = {
        "7-Zip": ["7z", "a", "-tzip", "-mx=5", str(out), *names],
        "Info-ZIP": ["zip", "-q", str(out), *names],  # keeps extra fields: timestamps, Unix ids
        "Info-ZIP streamed": ["zip", "-q", "-fd", str(out), *names],  # data descriptors
    }
    command = commands[tool]
    subprocess.run([need_tool(command[0]), *command[1:]], cwd=folder, check=True, capture_output=True)
    return out


@pytest.mark.parametrize("info", ["first", "last"])
@pytest.mark.parametrize("tool", ["7-Zip", "Info-ZIP", "Info-ZIP streamed"])
def test_archives_made_by_other_tools(tmp_path: Path, tool: str, info: str) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    pages = [f"page{i:02d}.jpg" for i in range(4)]
    for i, name in enumerate(pages):
        (folder / name).write_bytes(random.Random(i).randbytes(5000) + b"\0" * 3000)
    (folder / INFO).write_bytes(OLD_XML)
    names = [INFO, *pages] if info == "first" else [*pages, INFO]
    path = _made_by(tool, folder, names, tmp_path / "a.cbz")
    hashes = page_hashes(path)
    for tag in ("One", "Two"):
        assert write_comicinfo_inplace(path, new_xml(tag), tmp_path / "j") is True
        assert_whole(path, hashes, new_xml(tag))
        assert ComicArchive(path).read_tags("cr").series == tag
