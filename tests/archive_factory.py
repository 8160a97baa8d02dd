"""Build real comic archives for tests, and fingerprint their pages.

``make_cbz`` writes a genuine zip whose pages are genuine JPEG images made with Pillow: a small
picture of seeded noise (so every page of every seed differs), padded after the JPEG end-of-image
marker with seeded random bytes up to ``page_size``. Image viewers ignore bytes after that marker,
so a page stays a valid JPEG whatever its size; a page is never smaller than the bare image
(about 600 bytes).

``page_hashes`` gives the sha256 of each page's bytes in reading order, for zip and rar alike,
so a test can assert that a write or a conversion kept every page intact.
"""

from __future__ import annotations

import hashlib
import io
import random
import zipfile
from pathlib import Path
from typing import Literal

import rarfile
from comicapi import utils
from PIL import Image


def page_bytes(index: int, seed: int = 0, page_size: int = 2000) -> bytes:
    """A real JPEG, distinct for each (index, seed), padded to at least ``page_size`` bytes."""
    rng = random.Random(f"{seed}:{index}")
    image = Image.frombytes("RGB", (16, 16), rng.randbytes(16 * 16 * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    data = buffer.getvalue()
    if len(data) < page_size:
        data += rng.randbytes(page_size - len(data))
    return data


def make_cbz(
    path: Path,
    pages: int = 3,
    comicinfo: bytes | None = None,
    comicinfo_position: Literal["first", "last"] = "last",
    compression: int = zipfile.ZIP_STORED,
    page_size: int = 2000,
    seed: int = 0,
) -> Path:
    """Write a .cbz at ``path`` with pages ``page001.jpg``… and an optional ComicInfo.xml."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        if comicinfo is not None and comicinfo_position == "first":
            zf.writestr("ComicInfo.xml", comicinfo)
        for index in range(pages):
            zf.writestr(f"page{index + 1:03d}.jpg", page_bytes(index, seed, page_size))
        if comicinfo is not None and comicinfo_position == "last":
            zf.writestr("ComicInfo.xml", comicinfo)
    return path


def _sniff(path: Path) -> str:
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head.startswith(b"PK"):
        return "zip"
    if head.startswith(b"Rar!\x1a\x07"):
        return "rar"
    raise ValueError(f"{path} is neither zip nor rar")


def _visible(name: str) -> bool:
    parts = name.split("/")
    return not any(p.startswith(".") or p == "__MACOSX" for p in parts)


def page_hashes(path: Path) -> list[str]:
    """sha256 hex of each page's data, in reading order (natural sort of image names)."""
    path = Path(path)
    archive: zipfile.ZipFile | rarfile.RarFile
    archive = zipfile.ZipFile(path) if _sniff(path) == "zip" else rarfile.RarFile(path)
    with archive:
        names = [n for n in dict.fromkeys(archive.namelist()) if _visible(n)]
        return [hashlib.sha256(archive.read(name)).hexdigest() for name in utils.get_page_name_list(names)]
