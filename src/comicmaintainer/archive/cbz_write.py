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

Speed (the full copy is the one write whose cost grows with the archive): each entry's bytes are
read once into a reused buffer, checked and written from it (a stored entry's CRC-32 is taken on
the raw bytes; a deflated one is inflated chunk by chunk only to be checked), so the bytes checked
are exactly the bytes written. Every few MB the kernel is asked to start writing the temp file to
disk (``sync_file_range``), so the disk works while the copy goes on and the closing fsync has
little left to wait for. The replaced file's blocks are freed by closing its last descriptor on a
short-lived thread once the new file is in place and durable: on ext4 that takes about as long as
writing a third of the file, and nothing the caller needs depends on it.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import itertools
import os
import stat
import struct
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, BinaryIO

from comicmaintainer.archive import unflushed
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
_UTF8_FLAG = 0x800
_ZIP64_EXTRA_ID = 0x0001
# 1 MB: large enough that per-call costs vanish, small enough to stay in the CPU cache (4 MB
# chunks measured slower).
_CHUNK = 1 << 20
# How often the disk is asked to start on what has been copied so far (8 MB measured best of
# 4-32 MB on a 500 MB copy).
_WRITEBACK_STEP = 8 << 20
_SYNC_FILE_RANGE_WRITE = 2


def write_comicinfo(path: Path, xml: bytes, *, journal_dir: Path | None = None) -> None:
    """Put ``xml`` in ``path`` as its ComicInfo.xml (the last entry); nothing happens if unchanged.

    With ``journal_dir``, the cheap in-place tail rewrite (``cbz_inplace``) is tried first; the
    full copy below runs only when it declines (an unusual layout, see ``cbz_inplace``).
    """
    if journal_dir is not None and write_comicinfo_inplace(Path(path), xml, Path(journal_dir)):
        return
    _rewrite(Path(path), xml)


def remove_comicinfo(path: Path, *, journal_dir: Path | None = None) -> None:
    """Drop ComicInfo.xml from ``path`` (used to undo a first tagging); nothing happens if absent."""
    _rewrite(Path(path), None)


def _rewrite(path: Path, xml: bytes | None) -> None:
    unflushed.wait(path)  # the copy replaces the file an in-place write's record names
    if check_format(path) != "zip":
        raise UnsupportedArchive(f"only zip archives can be written: {path.name} is not a zip")
    try:
        replaced = _copy_unless_unchanged(path, xml)
    except ArchiveError:
        raise
    except OSError as exc:
        raise disk_error(exc, path) from None
    if replaced is None:
        return
    try:
        fsync_dir(path.parent)
    finally:
        _close_in_background(replaced)


def _copy_unless_unchanged(path: Path, xml: bytes | None) -> int | None:
    """Swap in the new copy; returns a descriptor that alone still holds the replaced file."""
    with open(path, "rb") as src:
        before = fingerprint(path)
        if os.fstat(src.fileno()).st_ino != before.inode:
            raise FileVanished(f"file changed while opening it: {path.name}")
        with open_zip(src) as zf:
            if _unchanged(zf, xml):
                return None
            keep = os.dup(src.fileno())
            try:
                _copy_to_temp_and_replace(path, src, zf, xml, before)
            except BaseException:
                os.close(keep)
                raise
            return keep


def _close_in_background(fd: int) -> None:
    """Close the replaced file's last descriptor off the caller's clock: that frees its blocks."""

    def close() -> None:
        with contextlib.suppress(OSError):
            os.close(fd)

    try:
        threading.Thread(target=close, name="cm-free-replaced", daemon=True).start()
    except RuntimeError:  # no thread to be had: pay the cost here instead
        close()


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
    copier = _CheckedCopier(src, out)
    kept = [info for info in zf.infolist() if not is_comicinfo_name(info.filename)]
    starts = _data_starts(src, kept)
    with new_zip(out) as new:
        for info, start in zip(kept, starts, strict=True):
            if info.flag_bits & _ENCRYPTED_FLAG:
                raise UnsupportedArchive("password-protected zip is not supported")
            if info.compress_type not in _Check.METHODS:
                _verify_with_zipfile(zf, info)  # bzip2, lzma: rare enough to read twice
            _append_raw(new, info, start, copier)
        if xml is not None:
            entry = zipfile.ZipInfo(COMICINFO_NAME, date_time=time.localtime()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            new.writestr(entry, xml)
        new.comment = zf.comment


def _verify_with_zipfile(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Decompress and discard: zipfile raises on a CRC mismatch at the end of the entry."""
    try:
        with zf.open(info) as member:
            while member.read(_CHUNK):
                pass
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError, RuntimeError) as exc:
        raise CorruptArchive(f"{info.filename} is damaged: {exc}") from None


def _data_starts(src: BinaryIO, infos: list[zipfile.ZipInfo]) -> list[int]:
    """Where each entry's data begins; refuses entries sharing bytes, as zipfile does when reading
    (else a small crafted file could make the copy write the same bytes over and over)."""
    starts = [_data_offset(src, info) for info in infos]
    order = sorted(range(len(infos)), key=lambda i: infos[i].header_offset)
    for here, after in itertools.pairwise(order):
        if starts[here] + infos[here].compress_size > infos[after].header_offset:
            raise CorruptArchive(f"{infos[here].filename} is damaged: it overlaps {infos[after].filename}")
    return starts


def _data_offset(src: BinaryIO, info: zipfile.ZipInfo) -> int:
    """Where ``info``'s data begins, once its local header is found and names the same entry."""
    encoding = "utf-8" if info.flag_bits & _UTF8_FLAG else "cp437"
    name = info.orig_filename.encode(encoding)
    header = os.pread(src.fileno(), _LOCAL_HEADER.size + len(name), info.header_offset)
    if len(header) != _LOCAL_HEADER.size + len(name) or header[:4] != _LOCAL_SIG:
        raise CorruptArchive(f"{info.filename} is damaged: bad local header")
    fields = _LOCAL_HEADER.unpack_from(header)
    if header[_LOCAL_HEADER.size :] != name:
        raise CorruptArchive(f"{info.filename} is damaged: its local header names another file")
    return info.header_offset + _LOCAL_HEADER.size + fields[9] + fields[10]


def _append_raw(new: zipfile.ZipFile, info: zipfile.ZipInfo, start: int, copier: _CheckedCopier) -> None:
    """Add ``info``'s entry to ``new`` with its compressed bytes copied unchanged.

    A private door, kept because no public one exists: zipfile can only add an entry by
    compressing it again (``write``, ``writestr``, ``open("w")``), which would cost a full
    decompress and recompress of every page. So this writes the local header with
    ``ZipInfo.FileHeader`` and records the entry as ``ZipFile.close`` expects (``fp``,
    ``start_dir``, ``filelist``, ``NameToInfo``), all undocumented; ``tests/test_private_doors.py``
    fails when a Python release changes them.
    """
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
    entry.header_offset = new.fp.tell()
    new.fp.write(entry.FileHeader(zip64))
    copier.copy(info, start)
    new.start_dir = new.fp.tell()
    new.filelist.append(entry)
    new.NameToInfo[entry.filename] = entry


class _CheckedCopier:
    """Copies entries' raw bytes from ``src`` to ``out`` in one pass, checking each on the way."""

    def __init__(self, src: BinaryIO, out: IO[bytes]) -> None:
        self._src = src.fileno()
        self._out = out
        self._buffer = memoryview(bytearray(_CHUNK))
        self._writeback = _Writeback(out)

    def copy(self, info: zipfile.ZipInfo, offset: int) -> None:
        check = _Check(info) if info.compress_type in _Check.METHODS else None
        left = info.compress_size
        while left > 0:
            got = os.preadv(self._src, [self._buffer[: min(left, _CHUNK)]], offset)
            if not got:
                raise CorruptArchive(f"{info.filename} is damaged: archive ends inside it")
            chunk = self._buffer[:got]
            if check is not None:
                check.feed(chunk)
            # A damaged entry is found after some of it is written: that only ever reaches the
            # temp file, which the caller deletes.
            self._out.write(chunk)
            self._writeback.wrote(got)
            offset += got
            left -= got
        if check is not None:
            check.finish()


class _Check:
    """CRC-32 and size of one entry's data, fed its raw (stored or deflated) bytes in order."""

    METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)

    def __init__(self, info: zipfile.ZipInfo) -> None:
        self._info = info
        self._crc = 0
        self._size = 0
        deflated = info.compress_type == zipfile.ZIP_DEFLATED
        self._inflate = zlib.decompressobj(-zlib.MAX_WBITS) if deflated else None

    def feed(self, raw: memoryview) -> None:
        if self._inflate is None:
            self._add(raw)
            return
        try:
            # Bounded output per call: a small entry may inflate to gigabytes (a zip bomb).
            data = self._inflate.decompress(raw, _CHUNK)
            self._add(data)
            while self._inflate.unconsumed_tail or len(data) == _CHUNK:
                data = self._inflate.decompress(self._inflate.unconsumed_tail, _CHUNK)
                self._add(data)
        except zlib.error as exc:
            self._fail(f"bad deflate data ({exc})")

    def finish(self) -> None:
        if self._inflate is not None and not self._inflate.eof:
            self._fail("deflate data ends early")
        if self._size != self._info.file_size:
            self._fail(f"{self._size} bytes instead of {self._info.file_size}")
        if self._crc != self._info.CRC:
            self._fail("Bad CRC-32")

    def _add(self, data: bytes | memoryview) -> None:
        self._crc = zlib.crc32(data, self._crc)
        self._size += len(data)

    def _fail(self, why: str) -> None:
        raise CorruptArchive(f"{self._info.filename} is damaged: {why}")


class _Writeback:
    """Asks the kernel to start writing the temp file every few MB, so the disk keeps pace."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self._kick = _sync_file_range()
        self._unsent = 0
        self._sent_to = 0

    def wrote(self, count: int) -> None:
        self._unsent += count
        if self._kick is None or self._unsent < _WRITEBACK_STEP:
            return
        end = self._out.tell()
        # Only a hint: a failure here means the closing fsync does all the work, as without it.
        self._kick(self._out.fileno(), self._sent_to, end - self._sent_to, _SYNC_FILE_RANGE_WRITE)
        self._sent_to = end
        self._unsent = 0


@functools.lru_cache(maxsize=1)
def _sync_file_range() -> Callable[..., int] | None:
    """libc's sync_file_range (Linux), or None: then the copy just waits longer at the fsync."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.sync_file_range
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


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
