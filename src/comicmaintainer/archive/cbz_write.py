"""Write ComicInfo.xml into a .cbz so that the file on disk is always a whole, valid archive.

``write_comicinfo`` builds a complete new zip in a temp dotfile beside the original: every other
entry is copied with its compressed bytes untouched (no recompression, same order, same method),
each one's CRC checked on the way, and ComicInfo.xml goes last. Only when the copy is complete
and fsynced does ``os.replace`` swap it in, and the folder is fsynced after. Any failure (disk
full, read-only folder, the file vanishing, a damaged page) removes the temp file, leaves the
original byte-identical, and raises ArchiveError with one plain line.

Copying entries raw needs a little of zipfile's writer state (``fp``, ``start_dir``,
``filelist``, ``NameToInfo``): the same steps ``ZipFile.mkdir`` takes in the standard library,
used here because zipfile has no public "add already-compressed entry" call.
"""

from __future__ import annotations

import contextlib
import os
import stat
import struct
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, BinaryIO

from comicmaintainer.archive.atomic import Fingerprint, fingerprint, fsync_dir, temp_path_beside
from comicmaintainer.archive.cbz_inplace import write_comicinfo_inplace
from comicmaintainer.archive.errors import (
    ArchiveError,
    CorruptArchive,
    FileVanished,
    UnsupportedArchive,
    disk_error,
)
from comicmaintainer.archive.reader import (
    COMICINFO_NAME,
    check_format,
    is_comicinfo_name,
    open_zip,
    read_zip_member,
)

_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_LOCAL_SIG = b"PK\x03\x04"
_DATA_DESCRIPTOR_FLAG = 0x08
_ENCRYPTED_FLAG = 0x01
_ZIP64_EXTRA_ID = 0x0001
_CHUNK = 1 << 20


def write_comicinfo(path: Path, xml: bytes, *, journal_dir: Path | None = None) -> None:
    """Put ``xml`` in ``path`` as its ComicInfo.xml (the last entry); nothing happens if unchanged.

    With ``journal_dir``, the cheap in-place tail rewrite (``cbz_inplace``) is tried first; the
    full copy below runs only when it declines (ComicInfo.xml not last, an unusual layout).
    """
    if journal_dir is not None and write_comicinfo_inplace(Path(path), xml, Path(journal_dir)):
        return
    _rewrite(Path(path), xml)


def remove_comicinfo(path: Path, *, journal_dir: Path | None = None) -> None:
    """Drop ComicInfo.xml from ``path`` (used to undo a first tagging); nothing happens if absent."""
    _rewrite(Path(path), None)


def _rewrite(path: Path, xml: bytes | None) -> None:
    if check_format(path) != "zip":
        raise UnsupportedArchive(f"only zip archives can be written: {path.name} is not a zip")
    try:
        with open(path, "rb") as src:
            before = fingerprint(path)
            if os.fstat(src.fileno()).st_ino != before.inode:
                raise FileVanished(f"file changed while opening it: {path.name}")
            with open_zip(src) as zf:
                if _unchanged(zf, xml):
                    return
                _copy_to_temp_and_replace(path, src, zf, xml, before)
    except ArchiveError:
        raise
    except OSError as exc:
        raise disk_error(exc, path) from None
    fsync_dir(path.parent)


def _unchanged(zf: zipfile.ZipFile, xml: bytes | None) -> bool:
    entries = [i for i in zf.infolist() if is_comicinfo_name(i.filename)]
    if xml is None:
        return not entries
    if len(entries) != 1 or entries[0].file_size != len(xml):
        return False
    return read_zip_member(zf, entries[0], len(xml)) == xml


def _copy_to_temp_and_replace(
    path: Path, src: BinaryIO, zf: zipfile.ZipFile, xml: bytes | None, before: Fingerprint
) -> None:
    st = os.fstat(src.fileno())
    tmp = temp_path_beside(path)
    try:
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise disk_error(exc, path) from None
    try:
        with os.fdopen(fd, "w+b") as out:
            _write_zip(out, src, zf, xml)
            _copy_owner_and_mode(out.fileno(), st)
            out.flush()
            os.fsync(out.fileno())
        if fingerprint(path) != before:
            raise ArchiveError(f"{path.name} changed while it was being written; left as it was")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _copy_owner_and_mode(fd: int, st: os.stat_result) -> None:
    if os.geteuid() == 0 and (st.st_uid, st.st_gid) != (0, 0):
        # Running as root (a container): keep the file owned by the library's user.
        os.fchown(fd, st.st_uid, st.st_gid)
    os.fchmod(fd, stat.S_IMODE(st.st_mode))


@contextmanager
def new_zip(out: IO[bytes]) -> Iterator[zipfile.ZipFile]:
    """A ZipFile writing into ``out``, closed on success; on error the caller discards ``out``."""
    new = zipfile.ZipFile(out, "w")
    try:
        yield new
    except BaseException:
        # Closing writes a central directory into a file about to be deleted and may fail too
        # (disk full); that must not hide the first error. Not closing at all would leave the
        # ZipFile's finalizer to try later, on a closed file.
        with contextlib.suppress(Exception):
            new.close()
        raise
    new.close()


def _write_zip(out: IO[bytes], src: BinaryIO, zf: zipfile.ZipFile, xml: bytes | None) -> None:
    with new_zip(out) as new:
        for info in zf.infolist():
            if is_comicinfo_name(info.filename):
                continue
            _verify_crc(zf, info)
            _append_raw(new, src, info)
        if xml is not None:
            entry = zipfile.ZipInfo(COMICINFO_NAME, date_time=time.localtime()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            new.writestr(entry, xml)
        new.comment = zf.comment


def _verify_crc(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Decompress and discard: zipfile raises on a CRC mismatch at the end of the entry."""
    if info.flag_bits & _ENCRYPTED_FLAG:
        raise UnsupportedArchive("password-protected zip is not supported")
    try:
        with zf.open(info) as member:
            while member.read(_CHUNK):
                pass
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError, RuntimeError) as exc:
        raise CorruptArchive(f"{info.filename} is damaged: {exc}") from None


def _data_offset(src: BinaryIO, info: zipfile.ZipInfo) -> int:
    header = os.pread(src.fileno(), _LOCAL_HEADER.size, info.header_offset)
    if len(header) != _LOCAL_HEADER.size or header[:4] != _LOCAL_SIG:
        raise CorruptArchive(f"{info.filename} is damaged: bad local header")
    fields = _LOCAL_HEADER.unpack(header)
    return info.header_offset + _LOCAL_HEADER.size + fields[9] + fields[10]


def _append_raw(new: zipfile.ZipFile, src: BinaryIO, info: zipfile.ZipInfo) -> None:
    """Add ``info``'s entry to ``new`` with its compressed bytes copied unchanged."""
    entry = zipfile.ZipInfo(info.filename, info.date_time)
    for attr in ("compress_type", "comment", "create_system", "create_version", "extract_version",
                 "reserved", "volume", "internal_attr", "external_attr", "CRC", "compress_size",
                 "file_size"):  # fmt: skip
        setattr(entry, attr, getattr(info, attr))
    # Sizes go in the local header, so no data descriptor follows the data.
    entry.flag_bits = info.flag_bits & ~_DATA_DESCRIPTOR_FLAG
    # zipfile adds its own ZIP64 field when needed; an old one would be there twice.
    entry.extra = _strip_zip64_extra(info.extra)
    zip64 = max(entry.file_size, entry.compress_size) > zipfile.ZIP64_LIMIT
    assert new.fp is not None
    start = _data_offset(src, info)
    entry.header_offset = new.fp.tell()
    new.fp.write(entry.FileHeader(zip64))
    _copy_range(src, new.fp, start, info.compress_size, info.filename)
    new.start_dir = new.fp.tell()
    new.filelist.append(entry)
    new.NameToInfo[entry.filename] = entry


def _copy_range(src: BinaryIO, dst: IO[bytes], offset: int, length: int, name: str) -> None:
    while length > 0:
        chunk = os.pread(src.fileno(), min(_CHUNK, length), offset)
        if not chunk:
            raise CorruptArchive(f"{name} is damaged: archive ends inside it")
        dst.write(chunk)
        offset += len(chunk)
        length -= len(chunk)


def _strip_zip64_extra(extra: bytes) -> bytes:
    kept = bytearray()
    pos = 0
    while pos + 4 <= len(extra):
        field_id, size = struct.unpack_from("<HH", extra, pos)
        end = pos + 4 + size
        if end > len(extra):
            break  # a malformed tail: drop it rather than copy garbage
        if field_id != _ZIP64_EXTRA_ID:
            kept += extra[pos:end]
        pos = end
    return bytes(kept)
