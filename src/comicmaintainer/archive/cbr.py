"""Convert a RAR comic (.cbr) to a zip comic (.cbz) without losing a byte of it.

No free tool writes RAR, so a .cbr whose tags must change becomes a .cbz. Every page is copied
byte for byte in reading order (stored, not recompressed: images are compressed already), then
every other file the RAR holds (notes, scans' credits) so nothing the owner kept is dropped, then
ComicInfo.xml last. The zip is built in a temp dotfile beside ``dst``, checked, fsynced, and only
then moved to ``dst`` with a no-replace rename; the caller removes ``src`` afterwards.
"""

from __future__ import annotations

import os
import time
import zipfile
from pathlib import Path
from typing import IO

import rarfile

from comicmaintainer.archive.atomic import create_exclusive, fsync_dir, rename_no_replace, temp_path_beside
from comicmaintainer.archive.cbz_write import new_zip
from comicmaintainer.archive.errors import CorruptArchive, UnsupportedArchive, disk_error
from comicmaintainer.archive.reader import (
    COMICINFO_NAME,
    check_format,
    is_comicinfo_name,
    open_rar,
    page_names,
    rar_error,
    rar_files,
)

_CHUNK = 1 << 20
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def convert_rar_to_cbz(src: Path, dst: Path, xml: bytes | None) -> None:
    """Write a .cbz at ``dst`` holding everything in the RAR ``src``; ``xml`` replaces its ComicInfo.xml.

    Raises FileExistsError if ``dst`` exists (nothing is overwritten) and ArchiveError (one line)
    for anything else; ``dst`` is then absent, never partial.
    """
    src, dst = Path(src), Path(dst)
    fmt = check_format(src)
    if fmt != "rar":
        raise UnsupportedArchive(f"not a RAR archive: {src.name} is {fmt}")
    if dst.exists() or dst.is_symlink():
        raise FileExistsError(f"destination exists: {dst}")
    tmp = temp_path_beside(dst)
    try:
        _build(src, tmp, xml)
        rename_no_replace(tmp, dst)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, FileExistsError):
            raise disk_error(exc, dst, vanished=src) from None
        raise
    fsync_dir(dst.parent)


def _build(src: Path, tmp: Path, xml: bytes | None) -> None:
    fd = create_exclusive(tmp)
    with os.fdopen(fd, "w+b") as out:
        with open_rar(src) as rf:
            _copy_members(rf, out, xml)
        out.flush()
        os.fchmod(out.fileno(), os.stat(src).st_mode & 0o7777)
        os.fsync(out.fileno())
    _check_zip(tmp)


def _copy_members(rf: rarfile.RarFile, out: IO[bytes], xml: bytes | None) -> None:
    files = rar_files(rf)
    pages = page_names(files)
    old_info = [n for n in files if is_comicinfo_name(n)]
    skip = {*pages, *old_info}
    rest = [n for n in files if n not in skip]
    with new_zip(out) as new:
        for name in pages:
            _copy_member(rf, new, files[name], zipfile.ZIP_STORED)
        for name in rest:
            _copy_member(rf, new, files[name], zipfile.ZIP_DEFLATED)
        if xml is not None:
            entry = zipfile.ZipInfo(COMICINFO_NAME, date_time=time.localtime()[:6])
            entry.external_attr = 0o644 << 16
            new.writestr(entry, xml, compress_type=zipfile.ZIP_DEFLATED)
        elif old_info:
            _copy_member(rf, new, files[old_info[-1]], zipfile.ZIP_DEFLATED)


def _copy_member(rf: rarfile.RarFile, new: zipfile.ZipFile, info: rarfile.RarInfo, method: int) -> None:
    """Stream one member into the zip; rarfile checks its CRC as the last bytes are read."""
    entry = zipfile.ZipInfo(info.filename, date_time=_zip_time(info.date_time))
    entry.compress_type = method
    entry.external_attr = 0o644 << 16
    entry.file_size = info.file_size
    try:
        with rf.open(info) as reader, new.open(entry, "w", force_zip64=info.file_size > 2**31) as writer:
            while chunk := reader.read(_CHUNK):
                writer.write(chunk)
    except rarfile.Error as exc:
        raise rar_error(exc) from None
    if new.getinfo(info.filename).file_size != info.file_size:
        raise CorruptArchive(f"{info.filename} is damaged: short read from the RAR")


def _zip_time(date_time: tuple[int, ...] | None) -> tuple[int, int, int, int, int, int]:
    """Zip cannot store dates before 1980 (or none at all): such members get 1980-01-01."""
    if not date_time or date_time[0] < 1980:
        return _ZIP_EPOCH
    y, mo, d, h, mi, s = (list(date_time) + [0] * 6)[:6]
    return (min(y, 2107), mo, d, h, mi, s)


def _check_zip(tmp: Path) -> None:
    """Read the new zip back in full: a bad write shows up here, before anything is moved."""
    with zipfile.ZipFile(tmp) as check:
        bad = check.testzip()
    if bad is not None:
        raise CorruptArchive(f"converted archive failed its check at {bad}")
