"""Open a comic archive (zip or rar) and report what a reader of the comic would see.

``read_archive`` lists the pages in reading order, fetches the raw ComicInfo.xml and parses it,
and computes a ``content_id`` from the archive's directory alone (each page's CRC-32 and size,
in page order), so that spotting two identical copies never decompresses a page.

RAR goes through ``rarfile``. Stored members are read directly; compressed ones need an external
tool, which rarfile picks on first use (``unrar`` if present, else ``unar``, ``bsdtar``, ``7z``).
The container installs ``unar``; rarfile's default search finds it, so no setting is forced here.
"""

from __future__ import annotations

import hashlib
import struct
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import rarfile
from comicapi import utils
from comicapi.genericmetadata import GenericMetadata

from comicmaintainer.archive.comicinfo import parse_comicinfo
from comicmaintainer.archive.detect import Format, sniff
from comicmaintainer.archive.errors import (
    ArchiveError,
    CorruptArchive,
    FileVanished,
    UnsupportedArchive,
    one_line,
)

COMICINFO_NAME = "ComicInfo.xml"
# A ComicInfo.xml is a few kilobytes; anything this big is a mistake or an attack (zip bomb).
MAX_COMICINFO_BYTES = 16 * 1024 * 1024
_ZIP_ENCRYPTED = 0x1
_RAR_SPLIT = rarfile.RAR_FILE_SPLIT_BEFORE | rarfile.RAR_FILE_SPLIT_AFTER


@dataclass(frozen=True)
class ArchiveInfo:
    """What one archive holds, as far as the rest of the program cares."""

    format: str
    pages: list[str]
    comicinfo: bytes | None
    metadata: GenericMetadata
    content_id: str


# --- names -----------------------------------------------------------------------------------


def is_comicinfo_name(name: str) -> bool:
    """ComicInfo.xml at the archive's root, in any letter case."""
    return name.casefold() == COMICINFO_NAME.casefold()


def _may_be_page(name: str) -> bool:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return bool(parts) and not any(p.startswith(".") or p == "__MACOSX" for p in parts)


def page_names(names: Iterable[str]) -> list[str]:
    """Image entries in reading order: natural sort, as comicapi orders pages.

    Directories, ComicInfo.xml, ``__MACOSX`` and dotfiles (at any depth) and non-images are left out.
    """
    candidates = [n for n in dict.fromkeys(names) if _may_be_page(n)]
    return list(utils.get_page_name_list(candidates))


def content_id(identities: Iterable[tuple[int, int]]) -> str:
    """sha256 over (CRC-32, uncompressed size) of each page, in page order."""
    digest = hashlib.sha256()
    for crc, size in identities:
        digest.update(struct.pack("<IQ", crc & 0xFFFFFFFF, size))
    return digest.hexdigest()


# --- format ----------------------------------------------------------------------------------


def _printable(head: bytes) -> str:
    return "".join(chr(b) if 32 <= b < 127 else "." for b in head)


def _read_error(exc: OSError, path: Path) -> ArchiveError:
    if isinstance(exc, FileNotFoundError):
        return FileVanished(f"file not found: {path.name}")
    return ArchiveError(f"cannot read {path.name}: {exc.strerror or exc}")


def check_format(path: Path) -> Format:
    """The archive's format, or ArchiveError for a missing, empty or non-archive file."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise _read_error(exc, path) from None
    if not head:
        raise CorruptArchive("empty file")
    fmt = sniff(head)
    if fmt == "unknown":
        raise UnsupportedArchive(f"not a comic archive: file starts with '{_printable(head)}'")
    return fmt


def read_archive(path: Path) -> ArchiveInfo:
    """Read an archive's page list, ComicInfo.xml and content id; ArchiveError when unusable."""
    path = Path(path)
    fmt = check_format(path)
    reader = _read_zip if fmt == "zip" else _read_rar
    try:
        pages, identities, raw = reader(path)
    except OSError as exc:
        raise _read_error(exc, path) from None
    if not pages:
        raise CorruptArchive("archive holds no images")
    metadata = parse_comicinfo(raw) if raw is not None else GenericMetadata()
    return ArchiveInfo(fmt, pages, raw, metadata, content_id(identities))


# --- zip -------------------------------------------------------------------------------------


@contextmanager
def open_zip(source: Path | BinaryIO) -> Iterator[zipfile.ZipFile]:
    """ZipFile for reading (a path or an open binary file), zip damage as a one-line ArchiveError."""
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise CorruptArchive(f"damaged or truncated zip archive: {exc}") from None
    with zf:
        yield zf


def find_zip_comicinfo(zf: zipfile.ZipFile) -> zipfile.ZipInfo | None:
    """The root ComicInfo.xml entry (the last one, as zip readers do, if there are several)."""
    found = [i for i in zf.infolist() if not i.is_dir() and is_comicinfo_name(i.filename)]
    return found[-1] if found else None


def read_zip_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """Read one entry, its CRC checked by zipfile; ArchiveError when damaged or too big."""
    if info.flag_bits & _ZIP_ENCRYPTED:
        raise UnsupportedArchive("password-protected zip is not supported")
    try:
        with zf.open(info) as member:
            data = member.read(limit + 1)
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError, RuntimeError) as exc:
        raise CorruptArchive(f"{info.filename} is damaged: {exc}") from None
    if len(data) > limit:
        raise CorruptArchive(f"{info.filename} is too large")
    return data


def _read_zip(path: Path) -> tuple[list[str], list[tuple[int, int]], bytes | None]:
    with open_zip(path) as zf:
        by_name = {i.filename: i for i in zf.infolist() if not i.is_dir()}
        pages = page_names(by_name)
        if any(by_name[p].flag_bits & _ZIP_ENCRYPTED for p in pages):
            raise UnsupportedArchive("password-protected zip is not supported")
        info = find_zip_comicinfo(zf)
        raw = read_zip_member(zf, info, MAX_COMICINFO_BYTES) if info else None
        return pages, [(by_name[p].CRC, by_name[p].file_size) for p in pages], raw


# --- rar -------------------------------------------------------------------------------------


def rar_error(exc: Exception) -> ArchiveError:
    """Translate rarfile's exceptions into our one-line errors."""
    if isinstance(exc, rarfile.NeedFirstVolume):
        return UnsupportedArchive("multi-volume RAR is not supported")
    if isinstance(exc, (rarfile.PasswordRequired, rarfile.RarWrongPassword)):
        return UnsupportedArchive("password-protected RAR is not supported")
    if isinstance(exc, rarfile.RarCannotExec):
        return UnsupportedArchive("cannot unpack RAR: no unar/unrar tool is installed")
    return CorruptArchive(f"damaged or unreadable RAR archive: {one_line(exc) or type(exc).__name__}")


def _is_multivolume(rf: rarfile.RarFile) -> bool:
    # A lone part of a set shows up as members split before/after this volume.
    return len(rf.volumelist()) > 1 or any(i.flags & _RAR_SPLIT for i in rf.infolist())


def _open_rar_strict(path: Path) -> rarfile.RarFile:
    """Open strictly: a truncated RAR must fail, not list the pages that happen to survive."""
    try:
        return rarfile.RarFile(path, errors="strict")
    except rarfile.BadRarFile as exc:
        strict_error = exc
    except rarfile.Error as exc:
        raise rar_error(exc) from None
    # Strict parsing also fails on a volume whose next part is missing; look again leniently to
    # tell "one part of a set" from "damaged".
    try:
        with rarfile.RarFile(path) as lenient:
            multivolume = _is_multivolume(lenient)
    except rarfile.Error:
        multivolume = False
    if multivolume:
        raise UnsupportedArchive("multi-volume RAR is not supported")
    raise rar_error(strict_error)


@contextmanager
def open_rar(path: Path) -> Iterator[rarfile.RarFile]:
    """RarFile for reading; refuses damaged, password-protected and multi-volume archives up front."""
    with _open_rar_strict(path) as rf:
        if rf.needs_password():
            raise UnsupportedArchive("password-protected RAR is not supported")
        if _is_multivolume(rf):
            raise UnsupportedArchive("multi-volume RAR is not supported")
        yield rf


def rar_files(rf: rarfile.RarFile) -> dict[str, rarfile.RarInfo]:
    """Regular file members by name (directories and links left out)."""
    return {i.filename: i for i in rf.infolist() if i.is_file()}


def read_rar_member(rf: rarfile.RarFile, info: rarfile.RarInfo) -> bytes:
    """A member's bytes, CRC checked by rarfile."""
    try:
        return bytes(rf.read(info))
    except rarfile.Error as exc:
        raise rar_error(exc) from None


def _read_rar(path: Path) -> tuple[list[str], list[tuple[int, int]], bytes | None]:
    with open_rar(path) as rf:
        by_name = rar_files(rf)
        pages = page_names(by_name)
        infos = [i for n, i in by_name.items() if is_comicinfo_name(n)]
        if infos and infos[-1].file_size > MAX_COMICINFO_BYTES:
            raise CorruptArchive(f"{infos[-1].filename} is too large")
        raw = read_rar_member(rf, infos[-1]) if infos else None
        return pages, [(by_name[p].CRC or 0, by_name[p].file_size) for p in pages], raw
