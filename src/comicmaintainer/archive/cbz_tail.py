"""Read and rebuild the tail of a zip file: its last entry, central directory and end records.

The in-place writer (``cbz_inplace``) only ever rewrites the bytes from one offset to the end
of the file. This module answers two questions without reading any page data:

* ``read_layout``: where do the central directory and end records sit, what does each central
  record say, and is the file plain enough that rewriting its tail is safe? Anything unusual
  (encryption, several disks, bytes after the end record, an end record that does not match the
  directory, entries that overlap the region we would rewrite, two ComicInfo.xml) gives ``None``
  so that the caller falls back to the full atomic copy.
* ``build_tail``: the new bytes from the write offset to the new end of file: a fresh
  ComicInfo.xml entry, every other central record copied byte for byte in its original order,
  the new ComicInfo.xml record last, then the end records (ZIP64 ones when the archive had them
  or now needs them) and the archive comment, unchanged.

Offsets and sizes follow the PKWARE APPNOTE; ZIP64 values are read from the 0x0001 extra field
when a 32-bit field holds its 0xFFFFFFFF marker.
"""

from __future__ import annotations

import logging
import struct
import time
import zlib
from dataclasses import dataclass
from typing import BinaryIO, NamedTuple

logger = logging.getLogger(__name__)

COMICINFO = b"ComicInfo.xml"

# sig, disk, cd disk, entries here, entries total, cd size, cd offset, comment length
_EOCD = struct.Struct("<4s4H2LH")
_LOC64 = struct.Struct("<4sLQL")  # sig, disk with zip64 record, record offset, total disks
_EOCD64 = struct.Struct("<4sQ2H2L4Q")  # sig, size, made, needed, disk, cd disk, n here, n total, size, offset
_CDH = struct.Struct("<4s6H3L5H2L")  # central directory header, 46 bytes
_LFH = struct.Struct("<4s5H3L2H")  # local file header, 30 bytes
_SIG_EOCD, _SIG_LOC64, _SIG_EOCD64 = b"PK\x05\x06", b"PK\x06\x07", b"PK\x06\x06"
_SIG_CDH, _SIG_LFH, _SIG_DD = b"PK\x01\x02", b"PK\x03\x04", b"PK\x07\x08"
_MAX16, _MAX32 = 0xFFFF, 0xFFFFFFFF
_UNSAFE_FLAGS = 0x0001 | 0x0040 | 0x2000  # encrypted, strong encryption, masked central directory
_MADE_BY_UNIX = (3 << 8) | 45
_FILE_MODE = 0o100644 << 16


class CentralRecord(NamedTuple):
    """One central directory record: the fields we need plus its raw bytes, copied unchanged.

    A named tuple rather than a dataclass: an archive of 65,000 pages has as many records, and a
    tuple is built three times faster.
    """

    name: bytes
    flags: int
    method: int
    crc: int
    compressed_size: int
    header_offset: int
    zip64: bool
    raw: bytes

    @property
    def text_name(self) -> str:
        """The name as zip readers decode it: UTF-8 when flagged, else code page 437."""
        return self.name.decode("utf-8" if self.flags & 0x0800 else "cp437", errors="replace")


@dataclass(frozen=True)
class ZipLayout:
    """The structure of a zip file whose tail may be rewritten."""

    file_size: int
    cd_offset: int
    records: tuple[CentralRecord, ...]
    comment: bytes
    had_zip64: bool


def read_layout(f: BinaryIO, file_size: int) -> ZipLayout | None:
    """Parse the end records and central directory; ``None`` when the layout is not plain."""
    found = _find_eocd(f, file_size)
    if found is None:
        return _unsupported("no end record at the very end of the file")
    eocd_pos, fields, comment = found
    _, disk, cd_disk, n_here, n_total, cd_size, cd_offset, _ = fields
    had_zip64 = eocd_pos >= _LOC64.size and _pread(f, eocd_pos - _LOC64.size, 4) == _SIG_LOC64
    dir_end = eocd_pos
    if had_zip64:
        z64 = _read_zip64_end(f, eocd_pos)
        if z64 is None:
            return _unsupported("unusual ZIP64 end record")
        dir_end, disk, cd_disk, n_here, n_total, cd_size, cd_offset = z64
    elif _MAX16 in (n_here, n_total) or _MAX32 in (cd_size, cd_offset):
        return _unsupported("ZIP64 markers without a ZIP64 end record")
    if disk or cd_disk or n_here != n_total:
        return _unsupported("archive spans several disks")
    if cd_offset + cd_size != dir_end:
        return _unsupported("central directory is not where the end record says")
    records = _parse_central(_pread(f, cd_offset, cd_size), n_total)
    if records is None:
        return _unsupported("central directory does not parse cleanly")
    return ZipLayout(file_size, cd_offset, tuple(records), comment, had_zip64)


def _unsupported(reason: str) -> ZipLayout | None:
    logger.debug("in-place write not possible: %s", reason)
    return None


def _pread(f: BinaryIO, offset: int, size: int) -> bytes:
    f.seek(offset)
    return f.read(size)


def _find_eocd(f: BinaryIO, file_size: int) -> tuple[int, tuple[int, ...], bytes] | None:
    """The end record that ends exactly at end of file (no trailing bytes allowed)."""
    if file_size < _EOCD.size:
        return None
    window = min(file_size, _EOCD.size + _MAX16)
    tail = _pread(f, file_size - window, window)
    pos = tail.rfind(_SIG_EOCD)
    while pos >= 0:
        if pos + _EOCD.size <= len(tail):
            fields = _EOCD.unpack_from(tail, pos)
            if pos + _EOCD.size + fields[7] == len(tail):
                comment = tail[pos + _EOCD.size :]
                return file_size - window + pos, fields, comment
        pos = tail.rfind(_SIG_EOCD, 0, pos)
    return None


def _read_zip64_end(f: BinaryIO, eocd_pos: int) -> tuple[int, ...] | None:
    loc = _LOC64.unpack(_pread(f, eocd_pos - _LOC64.size, _LOC64.size))
    _, z64_disk, z64_offset, total_disks = loc
    if z64_disk != 0 or total_disks != 1 or z64_offset + _EOCD64.size != eocd_pos - _LOC64.size:
        return None  # extensible data sector or several disks: not plain
    rec = _EOCD64.unpack(_pread(f, z64_offset, _EOCD64.size))
    sig, size, _, _, disk, cd_disk, n_here, n_total, cd_size, cd_offset = rec
    if sig != _SIG_EOCD64 or size != _EOCD64.size - 12:
        return None
    return z64_offset, disk, cd_disk, n_here, n_total, cd_size, cd_offset


def _parse_central(buf: bytes, count: int) -> list[CentralRecord] | None:
    records: list[CentralRecord] = []
    pos, unpack, size = 0, _CDH.unpack_from, _CDH.size
    for _ in range(count):
        if pos + size > len(buf) or buf[pos : pos + 4] != _SIG_CDH:
            return None
        h = unpack(buf, pos)
        flags, csize, usize, offset = h[3], h[8], h[9], h[16]
        nlen, elen, clen, disk = h[10], h[11], h[12], h[13]
        end = pos + size + nlen + elen + clen
        if end > len(buf):
            return None
        big = _MAX32 in (csize, usize, offset)
        if big or disk == _MAX16:
            extra = buf[pos + size + nlen : pos + size + nlen + elen]
            wide = _zip64_values(extra, usize, csize, offset, disk)
            if wide is None:
                return None
            csize, offset, disk = wide
        if disk != 0:
            return None
        name = buf[pos + size : pos + size + nlen]
        records.append(CentralRecord(name, flags, h[4], h[7], csize, offset, big, buf[pos:end]))
        pos = end
    return records if pos == len(buf) else None


def _zip64_values(
    extra: bytes, usize: int, csize: int, offset: int, disk: int
) -> tuple[int, int, int] | None:
    """Real compressed size, header offset and disk, taking ZIP64 extra values where marked."""
    data = _extra_field(extra, 0x0001)
    if data is None:
        return None
    values = list(struct.unpack_from(f"<{len(data) // 8}Q", data)) if len(data) >= 8 else []
    fields = [usize, csize, offset]
    for i, value in enumerate(fields):
        if value == _MAX32:
            if not values:
                return None
            fields[i] = values.pop(0)
    # A disk number too large for 16 bits only happens in split archives: report "not disk 0".
    return fields[1], fields[2], 1 if disk == _MAX16 else disk


def _extra_field(extra: bytes, header_id: int) -> bytes | None:
    found = extra_block(extra, header_id)
    return None if found is None else extra[found[0] : found[0] + found[1]]


def extra_block(extra: bytes, header_id: int) -> tuple[int, int] | None:
    """(start, size) of the data of the extra-field block ``header_id`` in ``extra``, if any."""
    pos = 0
    while pos + 4 <= len(extra):
        hid, size = struct.unpack_from("<2H", extra, pos)
        if hid == header_id:
            return pos + 4, min(size, len(extra) - pos - 4)
        pos += 4 + size
    return None


def least_end(record: CentralRecord) -> int:
    """Where an entry's data ends at the earliest, from its central record alone (no local extra
    field, no data descriptor): a cheap check that entries do not reach into one another."""
    return record.header_offset + _LFH.size + len(record.name) + record.compressed_size


def entry_end(f: BinaryIO, record: CentralRecord) -> int | None:
    """Offset just past an entry's data (and its data descriptor); ``None`` if its header is bad."""
    raw = _pread(f, record.header_offset, _LFH.size)
    if len(raw) < _LFH.size or raw[:4] != _SIG_LFH:
        return None
    nlen, elen = _LFH.unpack(raw)[9:11]
    end = record.header_offset + _LFH.size + nlen + elen + record.compressed_size
    if record.flags & 0x0008:
        wide = record.zip64 or _extra_field(_pread(f, record.header_offset + _LFH.size + nlen, elen), 1)
        has_sig = _pread(f, end, 4) == _SIG_DD
        end += (4 if has_sig else 0) + (20 if wide else 12)
    return end


@dataclass(frozen=True)
class LocalHeader:
    fixed: bytes  # the 30 bytes of fixed fields
    name: bytes
    extra: bytes


def local_header(f: BinaryIO, offset: int) -> LocalHeader | None:
    """The local header at ``offset`` (``None`` if there is none, or it is cut short)."""
    fixed = _pread(f, offset, _LFH.size)
    if len(fixed) < _LFH.size or fixed[:4] != _SIG_LFH:
        return None
    nlen, elen = _LFH.unpack(fixed)[9:11]
    rest = _pread(f, offset + _LFH.size, nlen + elen)
    if len(rest) < nlen + elen:
        return None
    return LocalHeader(fixed, rest[:nlen], rest[nlen:])


def local_name(f: BinaryIO, offset: int) -> bytes | None:
    """The file name in the local header at ``offset`` (``None`` if there is no local header)."""
    header = local_header(f, offset)
    return None if header is None else header.name


def entry_data(f: BinaryIO, record: CentralRecord, limit: int) -> bytes | None:
    """The uncompressed content of a small stored or deflated entry; ``None`` if unreadable."""
    raw = _pread(f, record.header_offset, _LFH.size)
    if len(raw) < _LFH.size or raw[:4] != _SIG_LFH or record.compressed_size > limit:
        return None
    nlen, elen = _LFH.unpack(raw)[9:11]
    data = _pread(f, record.header_offset + _LFH.size + nlen + elen, record.compressed_size)
    try:
        if record.method == 8:
            return zlib.decompressobj(-15).decompress(data, limit + 1)
        return data if record.method == 0 else None
    except zlib.error:
        return None


def has_unsafe_flags(record: CentralRecord) -> bool:
    return bool(record.flags & _UNSAFE_FLAGS)


def build_tail(layout: ZipLayout, keep: list[CentralRecord], xml: bytes, offset: int) -> bytes:
    """New bytes from ``offset`` to end of file: ComicInfo.xml entry, central directory, end records."""
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    data = packer.compress(xml) + packer.flush()
    crc = zlib.crc32(xml)
    dos_time, dos_date = _dos_now()
    wide = offset >= _MAX32
    needed = 45 if wide else 20
    head = (needed, 0, 8, dos_time, dos_date, crc, len(data), len(xml), len(COMICINFO))
    local = _LFH.pack(_SIG_LFH, *head, 0) + COMICINFO
    extra = struct.pack("<2HQ", 1, 8, offset) if wide else b""
    central = (
        _CDH.pack(_SIG_CDH, _MADE_BY_UNIX, *head, len(extra), 0, 0, 0, _FILE_MODE, min(offset, _MAX32))
        + COMICINFO
        + extra
    )
    directory = b"".join(r.raw for r in keep) + central
    cd_offset = offset + len(local) + len(data)
    ends = _end_records(layout, len(keep) + 1, len(directory), cd_offset)
    return local + data + directory + ends + layout.comment


def _end_records(layout: ZipLayout, count: int, cd_size: int, cd_offset: int) -> bytes:
    wide = layout.had_zip64 or count >= _MAX16 or cd_size >= _MAX32 or cd_offset >= _MAX32
    eocd = _EOCD.pack(
        _SIG_EOCD,
        0,
        0,
        min(count, _MAX16),
        min(count, _MAX16),
        min(cd_size, _MAX32),
        min(cd_offset, _MAX32),
        len(layout.comment),
    )
    if not wide:
        return eocd
    z64_offset = cd_offset + cd_size
    record = _EOCD64.pack(_SIG_EOCD64, _EOCD64.size - 12, 45, 45, 0, 0, count, count, cd_size, cd_offset)
    return record + _LOC64.pack(_SIG_LOC64, 0, z64_offset, 1) + eocd


def _dos_now() -> tuple[int, int]:
    t = time.localtime()
    dos_time = (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2)
    dos_date = (max(t.tm_year - 1980, 0) << 9) | (t.tm_mon << 5) | t.tm_mday
    return dos_time, dos_date
