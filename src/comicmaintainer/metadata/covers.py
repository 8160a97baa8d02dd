"""Candidates' covers for the page, fetched by the server and kept under ``cache/covers``.

The page's Content-Security-Policy allows images from this server only, so a source's cover is
fetched here, once, and served from the cache. Only an address a source gave for a candidate the
service has seen is fetched (no open proxy), with a size cap and an image content type required.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import httpx

from comicmaintainer.metadata.http import USER_AGENT
from comicmaintainer.metadata.model import SourceError

MAX_BYTES = 4 * 1024 * 1024
TIMEOUT = 10.0
_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif"}


def cover(url: str, cache_dir: Path) -> tuple[Path, str]:
    """The cached file of ``url`` and its media type, fetching it on first use."""
    stem = hashlib.sha256(url.encode()).hexdigest()
    for media, suffix in _TYPES.items():
        path = cache_dir / f"{stem}{suffix}"
        if path.is_file():
            return path, media
    media, data = _fetch(url)
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"{stem}{_TYPES[media]}"
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".cover-")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)  # a reader sees the whole image or none
    return path, media


def _fetch(url: str) -> tuple[str, bytes]:
    if not url.startswith(("http://", "https://")):
        raise SourceError("the cover address is not http(s)")
    try:
        with httpx.stream("GET", url, timeout=TIMEOUT, headers={"User-Agent": USER_AGENT}) as response:
            media = response.headers.get("Content-Type", "").split(";")[0].strip()
            if response.status_code != 200 or media not in _TYPES:
                raise SourceError(
                    f"the cover could not be fetched (HTTP {response.status_code}, {media or 'no type'})"
                )
            data = bytearray()
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) > MAX_BYTES:
                    raise SourceError("the cover is larger than 4 MiB")
    except httpx.HTTPError:
        raise SourceError("the cover could not be fetched (no answer)") from None
    return media, bytes(data)
