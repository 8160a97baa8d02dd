"""Matching one series folder now, for the CLI and the API: pin when asked, then every chapter.

The job kind ``match`` does the same item by item in the background; this runs in the caller's
thread and returns one report, so ``comicmaintainer match`` and a page's "pin" answer at once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from comicmaintainer.config import METADATA_SOURCES, Settings
from comicmaintainer.library.paths import resolve_inside, to_rel
from comicmaintainer.library.process import Context
from comicmaintainer.metadata.apply import match_item
from comicmaintainer.metadata.model import SourceError
from comicmaintainer.metadata.service import ARCHIVES, MetadataService

_HOSTS = {"anilist.co": "anilist", "mangadex.org": "mangadex", "mangaupdates.com": "mangaupdates",
          "metron.cloud": "metron", "comicvine.gamespot.com": "comicvine"}  # fmt: skip


class MatchError(ValueError):
    """A match request that cannot be met; ``str()`` is one plain line."""


def resolve_folder(settings: Settings, text: str) -> str:
    """A series folder given as a path (absolute, or from here) or as a library path; its library path."""
    root = settings.watched_dir
    given = Path(text)
    candidates = [given] if given.is_absolute() else [Path.cwd() / given, root / given]
    for path in candidates:
        if path.is_dir():
            try:
                rel = to_rel(root, path.resolve())
            except ValueError:
                continue
            if rel not in ("", "."):
                return rel
    raise MatchError(f"{text} is not a series folder inside the library {root}")


def source_of(text: str) -> str | None:
    """The source a page address belongs to (``https://anilist.co/manga/1`` → ``anilist``)."""
    return next((name for host, name in _HOSTS.items() if host in text), None)


def chapters_of(settings: Settings, folder: str) -> list[str]:
    path = resolve_inside(settings.watched_dir, folder)
    names = sorted(e.name for e in os.scandir(path) if e.is_file() and e.name.lower().endswith(ARCHIVES))
    return [f"{folder}/{name}" for name in names]


def match_folder(
    ctx: Context, service: MetadataService, folder: str, *, source: str | None = None,
    pin: str | None = None, dry_run: bool = False, limit: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Pin (when ``pin`` is an id or address) or match the folder, then write every chapter (the
    first ``limit`` of them, in name order, when given; ``total`` says how many there are)."""
    if source is not None and source not in METADATA_SOURCES:
        raise MatchError(f"unknown source {source!r}; expected one of {', '.join(METADATA_SOURCES)}")
    if pin:
        source = source or source_of(pin)
        if source is None:
            raise MatchError("say which source the id is from: --source anilist, mangadex, …")
        try:
            service.pin(folder, source, pin)
        except ValueError as exc:
            raise MatchError(str(exc)) from None
    chapters = chapters_of(ctx.settings, folder)
    results = [match_item(rel, ctx, service, dry_run=dry_run, source=source) for rel in chapters[:limit]]
    stored = service.data.get_match(folder)
    return {"folder": folder, "match": stored.to_json() if stored else None, "chapters": results,
            "total": len(chapters), "dry_run": dry_run}  # fmt: skip


__all__ = [
    "MatchError",
    "MetadataService",
    "SourceError",
    "chapters_of",
    "match_folder",
    "resolve_folder",
    "source_of",
]
