"""Retire a ComicInfo.xml that is not the last entry without moving a single page byte.

Many archives carry ComicInfo.xml first (or between pages). Removing it the usual way shifts every
later entry, a full copy of the archive. Instead, the entry right after it (the *next* entry,
usually page 1) gets a new local header written where ComicInfo.xml's local header was. Its extra
field is made exactly long enough to reach the first byte of the next entry's data, which stays
where it is:

    before:  [ComicInfo.xml header + data][next header][next data] ...
    after:   [next header, extra field: its old extra, then zeros ][next data] ...

The padding is one extra-field block (id 0xD935, the id zip aligners use for padding) full of
zeros, so the old ComicInfo.xml bytes are gone: a reader that walks local headers reads the next
header, skips its extra field as the format says, and never meets a stale ComicInfo.xml. The
central directory then points the next entry at its new header, and ``cbz_inplace`` appends the new
ComicInfo.xml at the end, in the same journalled write. The result is read by zipfile, Info-ZIP,
7-Zip and comicapi like any other archive (``tests/archive_inplace``).

When it says no (``plan`` gives ``None``; the caller then makes the full copy): the gap does not
fit one extra field (ComicInfo.xml over about 64 KB compressed), entries that overlap or share a
header, a local header that does not match its central record, or a next entry whose offset is
stored in a ZIP64 field.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from typing import BinaryIO

from comicmaintainer.archive.cbz_tail import (
    COMICINFO,
    CentralRecord,
    ZipLayout,
    entry_end,
    extra_block,
    least_end,
    local_header,
)

logger = logging.getLogger(__name__)

PADDING_ID = 0xD935
_BLOCK_HEAD = struct.Struct("<2H")  # extra-field block: id, size
_MAX_EXTRA = 0xFFFF
_MAX32 = 0xFFFFFFFF
_EXTRA_LENGTH_AT = 28  # in a local header
# In a central record: the two sizes, name and extra lengths, the local header's offset; fixed size.
_CDH_SIZES_AT, _CDH_NAME_LENGTH_AT, _CDH_OFFSET_AT, _CDH_FIXED = 20, 28, 42, 46
_ZIP64_ID = 0x0001


@dataclass(frozen=True)
class HeadRewrite:
    """The bytes that cover ComicInfo.xml, and the central record to write for the next entry."""

    offset: int  # where ComicInfo.xml's local header starts; the new header goes here
    new_head: bytes  # the next entry's new local header, up to its data (which does not move)
    replaced: CentralRecord  # the next entry's central record as it is
    moved: CentralRecord  # ... and as it will be, pointing at ``offset``


def plan(f: BinaryIO, layout: ZipLayout, info: CentralRecord) -> HeadRewrite | None:
    """How to cover ``info`` (a ComicInfo.xml that is not last) with the next entry's header."""
    ordered = sorted(layout.records, key=lambda r: r.header_offset)
    if not _sequential(ordered, layout.cd_offset):
        return _no("entries overlap or share a local header")
    at = ordered.index(info)
    if at + 1 == len(ordered):
        return _no("ComicInfo.xml is the last entry")
    following = ordered[at + 1]
    if at > 0 and not _ends_by(f, ordered[at - 1], info.header_offset):
        return _no("the entry before ComicInfo.xml runs into it")
    if not _ends_by(f, info, following.header_offset):
        return _no("ComicInfo.xml runs into the next entry")
    header = local_header(f, following.header_offset)
    moved = _pointed_at(following, info.header_offset)
    if header is None or header.name != following.name or moved is None:
        return _no("the next entry's local header or central record is unusual")
    local = local_header(f, info.header_offset)
    if local is None or local.name != COMICINFO:
        return _no("ComicInfo.xml's local header does not match its central record")
    fixed_and_name = len(header.fixed) + len(header.name)
    data_start = following.header_offset + fixed_and_name + len(header.extra)
    extra_length = data_start - info.header_offset - fixed_and_name
    padding = extra_length - len(header.extra) - _BLOCK_HEAD.size
    if padding < 0 or extra_length > _MAX_EXTRA:
        return _no("the gap to the next entry does not fit one extra field")
    fixed = bytearray(header.fixed)
    struct.pack_into("<H", fixed, _EXTRA_LENGTH_AT, extra_length)
    block = _BLOCK_HEAD.pack(PADDING_ID, padding) + bytes(padding)
    new_head = bytes(fixed) + header.name + header.extra + block
    return HeadRewrite(info.header_offset, new_head, following, moved)


def _sequential(ordered: list[CentralRecord], cd_offset: int) -> bool:
    """No two entries share a header and none can reach into the next (a cheap lower bound)."""
    bounds = [r.header_offset for r in ordered[1:]] + [cd_offset]
    return all(least_end(r) <= bound for r, bound in zip(ordered, bounds, strict=True))


def _ends_by(f: BinaryIO, record: CentralRecord, offset: int) -> bool:
    end = entry_end(f, record)
    return end is not None and end <= offset


def _pointed_at(record: CentralRecord, offset: int) -> CentralRecord | None:
    """``record`` with its local header offset set to ``offset``, where the record keeps it.

    That is the 32-bit field, or the ZIP64 extra field when the 32-bit one holds 0xFFFFFFFF; its
    values come in a fixed order (uncompressed size, compressed size, offset), each one present
    only when its 32-bit field is marked.
    """
    raw = bytearray(record.raw)
    sizes = struct.unpack_from("<2L", raw, _CDH_SIZES_AT)
    if struct.unpack_from("<L", raw, _CDH_OFFSET_AT)[0] != _MAX32:
        struct.pack_into("<L", raw, _CDH_OFFSET_AT, offset)
    else:
        name_length, extra_length = struct.unpack_from("<2H", raw, _CDH_NAME_LENGTH_AT)
        extra_start = _CDH_FIXED + name_length
        block = extra_block(bytes(raw[extra_start : extra_start + extra_length]), _ZIP64_ID)
        at = 8 * sizes.count(_MAX32)  # the offset comes after the sizes that are marked
        if block is None or at + 8 > block[1]:
            return None
        struct.pack_into("<Q", raw, extra_start + block[0] + at, offset)
    return record._replace(header_offset=offset, raw=bytes(raw))


def _no(reason: str) -> HeadRewrite | None:
    logger.debug("in-place write not possible: %s", reason)
    return None
