"""Moving a file to the trash: out of the library, kept whole, recorded, and undone like any change."""

from __future__ import annotations

from pathlib import Path

import pytest

from comicmaintainer.library.changes import FileChange
from comicmaintainer.library.paths import PathError
from comicmaintainer.library.process import Context, process
from comicmaintainer.library.store import ActionState
from comicmaintainer.library.trash import NotInLibrary, move_to_trash, trash_dir
from comicmaintainer.library.undo import undo
from tests.archive_factory import make_cbz, page_hashes

REL = "Saga/Saga - Chapter 0001.cbz"


def test_a_trashed_file_is_kept_recorded_and_can_be_put_back(ctx: Context, watched: Path) -> None:
    archive = make_cbz(watched / REL, pages=3)
    pages = page_hashes(archive)
    process(REL, ctx)
    changes: list[dict] = []
    ctx.on_change = changes.append

    target = move_to_trash(REL, ctx)

    assert not archive.exists()
    assert target.is_relative_to(trash_dir(ctx)) and target.name == archive.name
    assert page_hashes(target) == pages
    assert ctx.store.get_file(REL) is None
    action = ctx.store.list_actions(1)[0]
    assert (action.kind, action.old_path, action.new_path, action.state) == (
        "delete", REL, str(target), ActionState.DONE,
    )  # fmt: skip
    assert changes == [FileChange.deleted(REL)]

    undo(action.id, ctx)
    assert archive.is_file() and page_hashes(archive) == pages and not target.exists()


def test_missing_and_outside_paths_are_plain_errors(ctx: Context, watched: Path) -> None:
    with pytest.raises(NotInLibrary, match="no such file"):
        move_to_trash("Nope/missing.cbz", ctx)
    with pytest.raises(PathError):
        move_to_trash("../outside.cbz", ctx)
    assert not trash_dir(ctx).exists()
