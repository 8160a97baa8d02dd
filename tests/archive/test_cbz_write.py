from __future__ import annotations

import contextlib
import os
import random
import struct
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

from comicmaintainer.archive.cbz_write import remove_comicinfo, write_comicinfo
from comicmaintainer.archive.errors import ArchiveError
from comicmaintainer.archive.reader import read_archive
from tests.archive.conftest import file_digest, remount_read_only
from tests.archive_factory import make_cbz, page_hashes
from tests.fixture_files import need_tool

OLD = b"<?xml version='1.0'?><ComicInfo><Series>Old</Series></ComicInfo>"
NEW = b"<?xml version='1.0'?><ComicInfo><Series>New</Series><Number>2</Number></ComicInfo>"


def _entries(path: Path) -> list[tuple[str, int, int, int]]:
    with zipfile.ZipFile(path) as zf:
        return [(i.filename, i.compress_type, i.CRC, i.compress_size) for i in zf.infolist()]


def _raw_pages(path: Path) -> list[bytes]:
    """The compressed bytes of every non-ComicInfo entry, as stored in the file."""
    data = path.read_bytes()
    with zipfile.ZipFile(path) as zf:
        out = []
        for info in zf.infolist():
            if info.filename == "ComicInfo.xml":
                continue
            name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
            start = info.header_offset + 30 + name_len + extra_len
            out.append(data[start : start + info.compress_size])
        return out


def _no_temp_left(folder: Path) -> bool:
    return not [name for name in os.listdir(folder) if ".cm-tmp-" in name]


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
@pytest.mark.parametrize("old", [None, "first", "last"])
def test_write_puts_comicinfo_last_and_keeps_pages_byte_identical(
    tmp_path: Path, compression: int, old: str | None
) -> None:
    path = make_cbz(tmp_path / "a.cbz", pages=4, compression=compression, page_size=5000,
                    comicinfo=OLD if old else None, comicinfo_position=old or "last")  # fmt: skip
    hashes, raw = page_hashes(path), _raw_pages(path)
    pages_before = [e for e in _entries(path) if e[0] != "ComicInfo.xml"]
    write_comicinfo(path, NEW)
    entries = _entries(path)
    assert entries[:-1] == pages_before
    assert entries[-1][0] == "ComicInfo.xml"
    assert page_hashes(path) == hashes
    assert _raw_pages(path) == raw
    info = read_archive(path)
    assert info.comicinfo == NEW and info.metadata.series == "New"
    assert _no_temp_left(tmp_path)
    assert subprocess.run([need_tool("unzip"), "-tq", str(path)], capture_output=True).returncode == 0


def test_other_entries_and_zip_comment_survive(tmp_path: Path) -> None:
    path = tmp_path / "b.cbz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("credits.txt", b"scanned by a friend", compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("chapter/01.jpg", b"\xff\xd8" + os.urandom(3000))
        zf.writestr("chapter/ComicInfo.xml", b"<ComicInfo><Series>nested, not ours</Series></ComicInfo>")
        zf.writestr("comicinfo.xml", OLD)
        zf.comment = b"kept comment"
    write_comicinfo(path, NEW)
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist() == ["credits.txt", "chapter/01.jpg", "chapter/ComicInfo.xml", "ComicInfo.xml"]
        assert zf.read("credits.txt") == b"scanned by a friend"
        assert zf.comment == b"kept comment"


def test_unchanged_xml_touches_nothing(tmp_path: Path) -> None:
    path = make_cbz(tmp_path / "a.cbz", comicinfo=NEW)
    before = os.stat(path)
    write_comicinfo(path, NEW)
    after = os.stat(path)
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)


def test_permission_bits_are_kept(tmp_path: Path) -> None:
    path = make_cbz(tmp_path / "a.cbz")
    path.chmod(0o604)
    write_comicinfo(path, NEW)
    assert path.stat().st_mode & 0o7777 == 0o604


def test_a_cbr_that_is_a_zip_can_be_written(tmp_path: Path) -> None:
    path = make_cbz(tmp_path / "zip-in-disguise.cbr")
    write_comicinfo(path, NEW)
    assert read_archive(path).metadata.series == "New"


def test_remove_comicinfo(tmp_path: Path) -> None:
    path = make_cbz(tmp_path / "a.cbz", comicinfo=OLD, comicinfo_position="first")
    hashes = page_hashes(path)
    remove_comicinfo(path)
    assert read_archive(path).comicinfo is None
    assert page_hashes(path) == hashes
    before = os.stat(path).st_mtime_ns
    remove_comicinfo(path)
    assert os.stat(path).st_mtime_ns == before


def test_bad_page_crc_leaves_the_original_untouched(tmp_path: Path) -> None:
    path = make_cbz(tmp_path / "a.cbz", pages=2, comicinfo=OLD)
    data = bytearray(path.read_bytes())
    data[300] ^= 0xFF  # inside page001.jpg, stored
    path.write_bytes(bytes(data))
    before = file_digest(path)
    with pytest.raises(ArchiveError, match=r"^page001\.jpg is damaged: Bad CRC-32"):
        write_comicinfo(path, NEW)
    assert file_digest(path) == before
    assert _no_temp_left(tmp_path)


def test_missing_and_foreign_files(tmp_path: Path, rar_fixture) -> None:
    with pytest.raises(ArchiveError, match="^file not found: gone.cbz$"):
        write_comicinfo(tmp_path / "gone.cbz", NEW)
    rar = tmp_path / "a.cbr"
    rar.write_bytes(rar_fixture("pages-rar5.cbr").read_bytes())
    with pytest.raises(ArchiveError, match="only zip archives can be written"):
        write_comicinfo(rar, NEW)
    assert file_digest(rar) == file_digest(rar_fixture("pages-rar5.cbr"))


def test_read_only_folder(tmp_path: Path, small_tmpfs) -> None:
    if os.geteuid() == 0:
        folder = small_tmpfs("2m")  # root ignores permission bits: use a real read-only mount
        path = make_cbz(folder / "a.cbz")
        remount_read_only(folder)
    else:
        folder = tmp_path / "ro"
        path = make_cbz(folder / "a.cbz")
        folder.chmod(0o555)
    before = file_digest(path)
    try:
        with pytest.raises(ArchiveError, match="^folder is read-only"):
            write_comicinfo(path, NEW)
    finally:
        if os.geteuid() != 0:
            folder.chmod(0o755)
    assert file_digest(path) == before
    assert _no_temp_left(folder)


def test_disk_full_on_a_real_small_disk(small_tmpfs) -> None:
    folder = small_tmpfs("1m")
    path = make_cbz(folder / "big.cbz", pages=6, page_size=100_000)  # ~600 KB: no room for a copy
    before = file_digest(path)
    with pytest.raises(ArchiveError, match="^disk full while writing big.cbz$"):
        write_comicinfo(path, NEW)
    assert file_digest(path) == before
    assert _no_temp_left(folder)


def test_file_size_limit_in_a_child_process(tmp_path: Path) -> None:
    # RLIMIT_FSIZE with SIGXFSZ ignored makes the kernel refuse a write (EFBIG) the way a full
    # disk does (ENOSPC); it works without root, where the tmpfs test above is skipped.
    path = make_cbz(tmp_path / "a.cbz", pages=4, page_size=50_000)
    before = file_digest(path)
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        from pathlib import Path
        from comicmaintainer.archive.cbz_write import write_comicinfo
        from comicmaintainer.archive.errors import ArchiveError
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))
        try:
            write_comicinfo(Path({str(path)!r}), {NEW!r})
        except ArchiveError as exc:
            print(exc)
            sys.exit(3)
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 3, done.stderr
    assert done.stdout.strip() == "file size limit reached while writing a.cbz"
    assert file_digest(path) == before
    assert _no_temp_left(tmp_path)


def _big_pages(path: Path, compression: int) -> Path:
    """Entries spanning several copy chunks and, together, several writeback steps (about 16 MB)."""
    rng = random.Random(7)
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        zf.writestr("ComicInfo.xml", OLD)
        zf.writestr("page001.jpg", rng.randbytes(5_000_000))
        # Half repetitive so deflate really shrinks it and inflating crosses chunk borders.
        zf.writestr("page002.jpg", rng.randbytes(2_500_000) + bytes(4_000_000))
        zf.writestr("page003.jpg", b"")
        # Inflated 1 MiB at a time, this one's last byte is still inside zlib when the input runs out.
        zf.writestr("page004.jpg", bytes((4 << 20) + 1))
    return path


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_entries_larger_than_a_copy_chunk_stay_byte_identical(tmp_path: Path, compression: int) -> None:
    path = _big_pages(tmp_path / "big.cbz", compression)
    hashes, raw = page_hashes(path), _raw_pages(path)
    write_comicinfo(path, NEW)
    assert page_hashes(path) == hashes
    assert _raw_pages(path) == raw
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        assert zf.namelist()[-1] == "ComicInfo.xml"


@pytest.mark.parametrize("compression", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_other_compression_methods_are_checked_and_copied_raw(tmp_path: Path, compression: int) -> None:
    path = make_cbz(tmp_path / "a.cbz", pages=3, compression=compression, page_size=4000,
                    comicinfo=OLD, comicinfo_position="first")  # fmt: skip
    hashes, raw = page_hashes(path), _raw_pages(path)
    write_comicinfo(path, NEW)
    assert page_hashes(path) == hashes
    assert _raw_pages(path) == raw


def _corrupt_deflated_page(path: Path, name: str) -> None:
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    start = info.header_offset + 30 + len(name.encode()) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0x55
    path.write_bytes(bytes(data))


def test_damaged_deflated_page_leaves_the_original_untouched(tmp_path: Path) -> None:
    path = _big_pages(tmp_path / "big.cbz", zipfile.ZIP_DEFLATED)
    _corrupt_deflated_page(path, "page002.jpg")
    before = file_digest(path)
    with pytest.raises(ArchiveError, match=r"^page002\.jpg is damaged: "):
        write_comicinfo(path, NEW)
    assert file_digest(path) == before
    assert _no_temp_left(tmp_path)


def test_deflated_page_whose_recorded_crc_is_wrong_is_refused(tmp_path: Path) -> None:
    path = make_cbz(tmp_path / "a.cbz", pages=2, compression=zipfile.ZIP_DEFLATED, comicinfo=OLD,
                    comicinfo_position="first")  # fmt: skip
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("page002.jpg")
    # The CRC in the central directory entry (zipfile reads CRCs from there), all else intact.
    crc_at = _central_entry(bytes(data), info.filename) + 16
    assert struct.unpack_from("<L", data, crc_at)[0] == info.CRC
    struct.pack_into("<L", data, crc_at, info.CRC ^ 1)
    path.write_bytes(bytes(data))
    before = file_digest(path)
    with pytest.raises(ArchiveError, match=r"^page002\.jpg is damaged: Bad CRC-32$"):
        write_comicinfo(path, NEW)
    assert file_digest(path) == before


def _fds_on_deleted(path: Path) -> list[str]:
    fd_dir = Path("/proc/self/fd")
    links = []
    for fd in fd_dir.iterdir():
        with contextlib.suppress(OSError):
            links.append(os.readlink(fd))
    return [link for link in links if link == f"{path} (deleted)"]


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_the_replaced_file_is_released(tmp_path: Path) -> None:
    path = make_cbz(tmp_path / "a.cbz", pages=3, comicinfo=OLD, comicinfo_position="first")
    write_comicinfo(path, NEW)
    for _ in range(200):  # closed on a background thread: give it up to two seconds
        if not _fds_on_deleted(path):
            break
        time.sleep(0.01)
    assert _fds_on_deleted(path) == []


def _central_entry(data: bytes, name: str) -> int:
    at = data.index(b"PK\x01\x02")
    while data[at + 46 : at + 46 + len(name)] != name.encode():
        at = data.index(b"PK\x01\x02", at + 4)
    return at


def test_entries_sharing_bytes_are_refused(tmp_path: Path) -> None:
    # page001's directory entry claims 100 bytes more, running into page002's header: such tricks
    # (overlapping zip bombs) would make the copy write the same bytes again and again.
    path = make_cbz(tmp_path / "a.cbz", pages=2, comicinfo=OLD, comicinfo_position="first")
    data = bytearray(path.read_bytes())
    entry = _central_entry(bytes(data), "page001.jpg")
    compressed, size = struct.unpack_from("<LL", data, entry + 20)
    struct.pack_into("<LL", data, entry + 20, compressed + 100, size + 100)
    path.write_bytes(bytes(data))
    before = file_digest(path)
    with pytest.raises(ArchiveError, match=r"^page001\.jpg is damaged: it overlaps page002\.jpg$"):
        write_comicinfo(path, NEW)
    assert file_digest(path) == before


def test_local_header_naming_another_file_is_refused(tmp_path: Path) -> None:
    path = make_cbz(tmp_path / "a.cbz", pages=2, comicinfo=OLD, comicinfo_position="first")
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        local = zf.getinfo("page002.jpg").header_offset
    data[local + 30 : local + 30 + len("page002.jpg")] = b"page009.jpg"
    path.write_bytes(bytes(data))
    before = file_digest(path)
    with pytest.raises(ArchiveError, match=r"^page002\.jpg is damaged: its local header names another file$"):
        write_comicinfo(path, NEW)
    assert file_digest(path) == before
