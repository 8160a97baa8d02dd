"""Move one file out of the library into the trash, recorded in history so that it can be undone.

A file is never deleted: it goes to ``CONFIG_DIR/trash/<time>/<its path>`` with a no-replace
rename, under the file's lock, and the history records where (kind "delete", undone by
``library.undo`` like a duplicate set aside). The store then forgets the row.
"""

from __future__ import annotations

import time
from pathlib import Path

from comicmaintainer.archive.atomic import rename_no_replace
from comicmaintainer.library.changes import FileChange
from comicmaintainer.library.paths import resolve_inside
from comicmaintainer.library.process import Context


class TrashError(Exception):
    """A file that cannot be moved to the trash; ``str()`` is one plain line."""


class NotInLibrary(TrashError):
    """The path names no file in the library."""


class AlreadyInTrash(TrashError):
    """A file of that path went to the trash this same second; the caller may try again."""


def trash_dir(ctx: Context) -> Path:
    return ctx.settings.config_dir / "trash"


def move_to_trash(rel_path: str, ctx: Context) -> Path:
    """Move the file at ``rel_path`` to the trash and record it; returns where it went.

    ``PathError`` (a ValueError) for a path outside the library.
    """
    with ctx.locks.hold(rel_path):
        source = resolve_inside(ctx.settings.watched_dir, rel_path)
        if not source.is_file():
            raise NotInLibrary(f"no such file in the library: {rel_path}")
        target = trash_dir(ctx) / time.strftime("%Y%m%d-%H%M%S") / rel_path
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            rename_no_replace(source, target)
        except FileExistsError:
            raise AlreadyInTrash(f"{rel_path} is already in this minute's trash; try again") from None
        ctx.store.record_action("delete", rel_path, str(target), None, None)
        ctx.store.delete_file(rel_path)
    ctx.on_change(FileChange.deleted(rel_path))
    return target
