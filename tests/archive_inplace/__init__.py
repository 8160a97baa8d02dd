"""Builders and checkers for in-place write tests (also used by bench/crash_test.py).

Archives are built with the standard library's zipfile, in the layouts other tools produce:
ComicInfo.xml first, between pages, last or absent; stored or deflated; with a comment; with data descriptors
(zipfile writes them when its output cannot seek); with ZIP64 end records or ZIP64 extra
fields everywhere (zipfile's thresholds lowered for the duration of one build).
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import struct
import subprocess
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from tests.fixture_files import need_tool

OLD_XML = b'<?xml version="1.0" encoding="utf-8"?>\n<ComicInfo><Series>Old Series</Series></ComicInfo>\n'
INFO = "ComicInfo.xml"


def new_xml(tag: str, padding: int = 0) -> bytes:
    """A distinct ComicInfo.xml; ``padding`` makes it longer (to grow or shrink the tail)."""
    notes = f"<Notes>{'n' * padding}</Notes>" if padding else ""
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<ComicInfo><Series>{tag}</Series>'
        f"<Title>Chapter 1</Title>{notes}</ComicInfo>\n"
    ).encode()


class _Unseekable:
    """A write-only stream: zipfile then writes data descriptors after each entry."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f

    def write(self, data: bytes) -> int:
        return self._f.write(data)

    def flush(self) -> None:
        self._f.flush()


@contextlib.contextmanager
def _zip64_thresholds(limit: int, count: int) -> Iterator[None]:
    saved = zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT
    zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = limit, count
    try:
        yield
    finally:
        zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = saved


def page_bytes(index: int, size: int, seed: int = 0) -> bytes:
    """Incompressible, reproducible page content (like JPEG data)."""
    return random.Random(seed * 100_003 + index).randbytes(size)


def build_cbz(
    path: Path,
    *,
    info: str = "last",
    compression: int = zipfile.ZIP_STORED,
    pages: int = 5,
    page_size: int = 3000,
    comment: bytes = b"",
    descriptors: bool = False,
    zip64: str = "",
    xml: bytes = OLD_XML,
) -> Path:
    """A CBZ with ComicInfo.xml ``first``, ``middle`` (between pages), ``last`` or ``absent``.

    ``zip64``: ``""`` none, ``"end"`` ZIP64 end records, ``"all"`` ZIP64 end records and ZIP64
    extra fields for every size and offset.
    """
    limits = {"": (zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT), "end": (zipfile.ZIP64_LIMIT, 0)}
    limit, count = limits.get(zip64, (1, 0))
    with open(path, "wb") as raw, _zip64_thresholds(limit, count):
        target: BinaryIO = _Unseekable(raw) if descriptors else raw  # type: ignore[assignment]
        with zipfile.ZipFile(target, "w", compression) as zf:
            if info == "first":
                zf.writestr(INFO, xml)
            for i in range(pages):
                zf.writestr(f"page{i:03d}.jpg", page_bytes(i, page_size))
                if info == "middle" and i == pages // 2:
                    zf.writestr(INFO, xml)
            if info == "last":
                zf.writestr(INFO, xml)
            zf.comment = comment
    return path


def page_hashes(path: Path) -> dict[str, str]:
    """SHA-256 of every entry other than ComicInfo.xml, by name, in archive order."""
    with zipfile.ZipFile(path) as zf:
        entries = [i for i in zf.infolist() if i.filename != INFO]
        return {i.filename: hashlib.sha256(zf.read(i)).hexdigest() for i in entries}


def read_info(path: Path) -> bytes | None:
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert names.count(INFO) <= 1, "ComicInfo.xml is listed twice"
        return zf.read(INFO) if INFO in names else None


def tool_errors(path: Path) -> list[str]:
    """What zipfile's testzip, Info-ZIP ``unzip -t`` and ``7z t`` say is wrong (empty = clean)."""
    problems = []
    with zipfile.ZipFile(path) as zf:
        bad = zf.testzip()
        if bad is not None:
            problems.append(f"testzip: {bad}")
    unzip = subprocess.run([need_tool("unzip"), "-tqq", str(path)], capture_output=True, text=True)
    if unzip.returncode != 0:
        problems.append(f"unzip -t: {unzip.returncode} {unzip.stdout} {unzip.stderr}")
    sevenz = subprocess.run([need_tool("7z"), "t", str(path)], capture_output=True, text=True)
    if sevenz.returncode != 0 or "WARNINGS" in sevenz.stdout.upper():
        problems.append(f"7z t: {sevenz.returncode} {sevenz.stdout[-400:]}")
    return problems


_LFH = struct.Struct("<4s5H3L2H")


def walk_local_headers(path: Path) -> list[tuple[str, bytes]]:
    """(name, content) of each entry as a streaming reader sees it, walking local headers from 0."""
    return [(name, content) for name, _, content in _walk(path.read_bytes())]


def local_extras(data: bytes) -> list[tuple[str, bytes]]:
    """(name, extra field) of each local header met walking them from 0."""
    return [(name, extra) for name, extra, _ in _walk(data)]


def _walk(data: bytes) -> Iterator[tuple[str, bytes, bytes]]:
    pos = 0
    while data[pos : pos + 4] == b"PK\x03\x04":
        _, _, flags, method, _, _, crc, csize, _, nlen, elen = _LFH.unpack_from(data, pos)
        name = data[pos + 30 : pos + 30 + nlen].decode("utf-8", "replace")
        start = pos + 30 + nlen + elen
        extra = data[pos + 30 + nlen : start]
        if csize == 0xFFFFFFFF:  # ZIP64: sizes are in the 0x0001 extra field (uncompressed, compressed)
            csize = _zip64_local_size(extra)
        if flags & 0x08:
            content, end = _read_streamed(data, start, method, crc)
        else:
            end = start + csize
            content = zlib.decompress(data[start:end], -15) if method == 8 else data[start:end]
        yield name, extra, content
        pos = end


def _read_streamed(data: bytes, start: int, method: int, crc: int) -> tuple[bytes, int]:
    """Content and end of an entry whose sizes follow it in a data descriptor."""
    if method == 8:
        unpacker = zlib.decompressobj(-15)
        content = unpacker.decompress(data[start:])
        end = len(data) - len(unpacker.unused_data)
    else:
        end = data.index(b"PK\x07\x08", start)
        content = data[start:end]
    sig = 4 if data[end : end + 4] == b"PK\x07\x08" else 0
    crc_read, size = struct.unpack_from("<2L", data, end + sig)
    assert crc_read == zlib.crc32(content), "data descriptor CRC mismatch"
    return content, end + sig + 12


def _zip64_local_size(extra: bytes) -> int:
    pos = 0
    while pos + 4 <= len(extra):
        field_id, size = struct.unpack_from("<2H", extra, pos)
        if field_id == 1:
            return int(struct.unpack_from("<2Q", extra, pos + 4)[1])
        pos += 4 + size
    raise AssertionError("ZIP64 sizes missing from a local header")
