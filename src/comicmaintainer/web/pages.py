"""The page itself: `/` answers index.html, `/static/<version>/<file>` its scripts, styles and vendored code.

`<version>` is a short hash of every file under `static/`. Any change to any asset (an upgrade, a
patched vendored library) changes every asset URL, so browsers may keep assets for a year without ever
running a stale script, while index.html itself is never cached and always names the current version.
The JavaScript modules import each other by relative URL, so they all resolve under the same version.

index.html names its assets relative to itself (`./static/<version>/app.js`), and the scripts call the
API the same way, so the page works unchanged under a reverse proxy's sub-path (`BASE_PATH=/comics`
puts it at `/comics/`; the security layer redirects `/comics` there, as relative URLs need the slash).

Nothing here reaches the internet: the page and everything it loads are served from this package.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

from comicmaintainer import __version__
from comicmaintainer.web.app import ApiError

STATIC_DIR = Path(__file__).parent / "static"
STATIC_MARK = "{{STATIC}}"
VERSION_MARK = "{{APP_VERSION}}"
LONG_CACHE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"
# Only our own origin: a page that works offline must not be able to load anything from elsewhere.
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
}


def static_version(static_dir: Path = STATIC_DIR) -> str:
    """A 12-hex-digit hash of the names and contents of every file under `static_dir`."""
    digest = hashlib.sha256()
    for path in sorted(p for p in static_dir.rglob("*") if p.is_file()):
        digest.update(path.relative_to(static_dir).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def render_index(static_dir: Path, version: str) -> str:
    """index.html with the versioned asset prefix (relative to the page) and the app version filled in."""
    text = (static_dir / "index.html").read_text(encoding="utf-8")
    return text.replace(STATIC_MARK, f"./static/{version}").replace(VERSION_MARK, __version__)


def _asset(static_dir: Path, rel: str) -> Path | None:
    """The file for `rel` when it is a plain file inside `static_dir`, else None."""
    if not rel or "\0" in rel or "\\" in rel:
        return None
    root = static_dir.resolve()
    candidate = (root / rel).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


def pages_router(static_dir: Path = STATIC_DIR) -> APIRouter:
    """Routes for `/` and `/static/...`; the asset version is computed once, here."""
    version = static_version(static_dir)
    index = render_index(static_dir, version)
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    def page() -> HTMLResponse:
        return HTMLResponse(index, headers={"Cache-Control": NO_CACHE, "Content-Security-Policy": CSP})

    @router.get("/static/{asset_version}/{rel:path}")
    def asset(asset_version: str, rel: str) -> Response:
        path = _asset(static_dir, rel)
        if path is None:
            raise ApiError(404, "not_found", f"no such asset: {rel}")
        # A page from before an upgrade may still ask for an old version: answer with today's file,
        # but do not let the browser keep it under the old URL.
        cache = LONG_CACHE if asset_version == version else NO_CACHE
        media = MEDIA_TYPES.get(path.suffix.lower())
        return FileResponse(path, media_type=media, headers={"Cache-Control": cache})

    return router


router = pages_router()
