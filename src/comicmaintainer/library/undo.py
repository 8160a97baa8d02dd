"""Undo one recorded action: put a file's name and ComicInfo.xml back as they were.

The undo is itself a change made with the same care as any other (tags written safely, a no-replace
rename) and is recorded in history. The file is then left alone by the watcher and by later runs
until it changes again from outside: the person asked for this state.
"""

from __future__ import annotations

from pathlib import Path

from comicmaintainer.archive import cbz_write
from comicmaintainer.archive.atomic import fingerprint, fsync_dir, rename_no_replace
from comicmaintainer.archive.detect import detect_format
from comicmaintainer.library.changes import FileChange
from comicmaintainer.library.paths import resolve_inside
from comicmaintainer.library.process import Context
from comicmaintainer.library.store import Action, Status


class UndoError(Exception):
    """An action that cannot be undone; the message says why in one line."""


def undo(action_id: int, ctx: Context) -> str:
    action = ctx.store.get_action(action_id)
    if action is None:
        raise UndoError(f"there is no action {action_id}")
    if action.state != "done":
        raise UndoError(f"action {action_id} is {action.state}, only a done action can be undone")
    if action.old_path is None or action.new_path is None:
        raise UndoError(f"action {action_id} ({action.kind}) records no paths to put back")
    if action.kind in ("duplicate", "delete"):  # moved out of the library: to DUPLICATE_DIR or the trash
        return _undo_move_out(action, action.old_path, action.new_path, ctx)
    if action.kind in ("process", "edit", "metadata"):  # metadata: fields a series match wrote
        return _undo_change(action, action.old_path, action.new_path, ctx)
    raise UndoError(f"action {action_id} ({action.kind}) cannot be undone")


def _undo_change(action: Action, old_path: str, new_path: str, ctx: Context) -> str:
    root = ctx.settings.watched_dir
    if old_path.lower().endswith(".cbr") and new_path.lower().endswith(".cbz"):
        raise UndoError("this file was converted from CBR to CBZ; the CBZ holds the same pages, keep it")
    with ctx.locks.hold_many([old_path, new_path]):
        current = resolve_inside(root, new_path)
        if not current.is_file():
            raise UndoError(f"{new_path} is no longer in the library")
        if action.old_xml != action.new_xml and detect_format(current) == "zip":
            if action.old_xml is None:
                cbz_write.remove_comicinfo(current)
            else:
                cbz_write.write_comicinfo(current, action.old_xml, journal_dir=ctx.settings.journal_dir)
        target = current
        if new_path != old_path:
            target = resolve_inside(root, old_path)
            try:
                rename_no_replace(current, target)
            except FileExistsError:
                raise UndoError(f"{old_path} is taken by another file; nothing was renamed") from None
            ctx.store.move_file(new_path, old_path)
        _remember(ctx, old_path, target)
    undo_id = ctx.store.record_action("undo", new_path, old_path, action.new_xml, action.old_xml)
    ctx.store.set_action_state(action.id, "undone")
    ctx.on_change(FileChange.renamed(new_path, old_path))
    return f"undone: {new_path} → {old_path} (recorded as action {undo_id})"


def _undo_move_out(action: Action, old_path: str, new_path: str, ctx: Context) -> str:
    moved = Path(new_path)
    with ctx.locks.hold(old_path):
        if not moved.is_file():
            raise UndoError(f"{moved} is no longer there")
        target = resolve_inside(ctx.settings.watched_dir, old_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            rename_no_replace(moved, target)
        except FileExistsError:
            raise UndoError(f"{old_path} is taken by another file; nothing was moved") from None
        fsync_dir(moved.parent)
        _remember(ctx, old_path, target)
    ctx.store.record_action("undo", str(moved), old_path, None, None)
    ctx.store.set_action_state(action.id, "undone")
    ctx.on_change(FileChange.added(old_path))
    return f"undone: {moved} moved back to {old_path}"


def _remember(ctx: Context, rel: str, path: Path) -> None:
    """Unprocessed, but marked as the person's choice, so it is not normalized again behind their back."""
    fp = fingerprint(path)
    ctx.store.mark(
        rel, status=Status.UNPROCESSED, size=fp.size, mtime_ns=fp.mtime_ns, inode=fp.inode, manual_edit=True
    )
