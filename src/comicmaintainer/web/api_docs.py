"""`/docs`: the API browsable with Swagger UI, served from vendored files (swagger-ui-dist 5.35.0).

FastAPI's own docs page loads Swagger UI from a CDN and starts it with an inline script: it would
not work offline, and our Content-Security-Policy (no inline script) blocks it. So the same UI is
served from the package, started by a script file of its own.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

ASSETS = Path(__file__).parent / "docs"
VERSION = "5.35.0"
PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ComicMaintainer API</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="docs/{VERSION}/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="docs/{VERSION}/swagger-ui-bundle.js"></script>
<script src="docs/{VERSION}/docs.js"></script></body></html>
"""
_FILES = {"swagger-ui.css", "swagger-ui-bundle.js", "docs.js"}


def docs_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/docs")
    def docs_page() -> HTMLResponse:
        return HTMLResponse(PAGE, headers={"Cache-Control": "no-cache"})

    @router.get("/docs/{version}/{name}")
    def docs_asset(version: str, name: str) -> FileResponse:
        if version != VERSION or name not in _FILES:
            raise HTTPException(404)
        return FileResponse(ASSETS / name, headers={"Cache-Control": "public, max-age=31536000, immutable"})

    return router
