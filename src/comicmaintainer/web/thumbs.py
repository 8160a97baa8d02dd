"""Cover thumbnails: the first page of an archive, shrunk once and kept on disk.

A thumbnail is named after the file's relative path and its fingerprint (size, mtime, inode), so a
changed or replaced archive gets a new thumbnail and the old one is simply never asked for again;
the same key is the HTTP ETag. Files are written atomically, so two requests racing for the same
cover both end up with a whole image. WebP when Pillow can write it, JPEG otherwise.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, features

from comicmaintainer.archive import reader
from comicmaintainer.archive.atomic import atomic_write_bytes, fingerprint
from comicmaintainer.archive.errors import ArchiveError

THUMB_SIZE = (300, 450)
MAX_PAGE_BYTES = 64 * 1024 * 1024  # a page this large is not an image worth shrinking
_WEBP = features.check("webp")
MEDIA_TYPE = "image/webp" if _WEBP else "image/jpeg"
_SUFFIX = ".webp" if _WEBP else ".jpg"


class CoverError(Exception):
    """No cover can be made (no pages, unreadable archive or image); ``str()`` is one plain line."""


@dataclass(frozen=True)
class Thumbnail:
    path: Path
    media_type: str
    etag: str


def thumbnail_key(rel: str, archive: Path) -> str:
    fp = fingerprint(archive)
    return hashlib.sha256(f"{rel}\0{fp.size}\0{fp.mtime_ns}\0{fp.inode}".encode()).hexdigest()[:32]


def cover_thumbnail(rel: str, archive: Path, thumbs_dir: Path) -> Thumbnail:
    """The cached thumbnail of ``archive`` (library path ``rel``), made now if missing."""
    key = thumbnail_key(rel, archive)
    target = thumbs_dir / key[:2] / f"{key}{_SUFFIX}"
    if not target.is_file():
        image = _shrink(first_page(archive))
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, image)
    return Thumbnail(target, MEDIA_TYPE, key)


def first_page(archive: Path) -> bytes:
    """The bytes of the first page in reading order."""
    try:
        info = reader.read_archive(archive)
        if not info.pages:
            raise CoverError("the archive has no pages")
        if info.format == "zip":
            with reader.open_zip(archive) as zf:
                return reader.read_zip_member(zf, zf.getinfo(info.pages[0]), MAX_PAGE_BYTES)
        with reader.open_rar(archive) as rf:
            return reader.read_rar_member(rf, reader.rar_files(rf)[info.pages[0]])
    except (ArchiveError, OSError, KeyError) as exc:
        raise CoverError(f"cannot read the first page: {exc}") from None


def _shrink(data: bytes) -> bytes:
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.draft("RGB", THUMB_SIZE)  # JPEG decodes at a smaller scale: much faster for big pages
            rgb = img.convert("RGB")
            rgb.thumbnail(THUMB_SIZE)
            out = io.BytesIO()
            rgb.save(out, "WEBP" if _WEBP else "JPEG", quality=80)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise CoverError(f"the first page is not an image Pillow can read: {exc}") from None
    return out.getvalue()
