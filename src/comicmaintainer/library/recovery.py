"""Finish or roll back what a killed process left half done. Runs at start-up; needs no person.

Two records can be left over: archive write journals (the archive layer rolls those back so every
archive holds its old or its new ComicInfo.xml) and history actions still *pending* (recorded just
before a rename or a CBR conversion). For a pending action the disk says what happened:

- the file is at its new path only: the change happened, the action is *done*; unless it still
  holds its old ComicInfo.xml where new tags were to be written (the pipeline renames first, then
  writes the tags, and was stopped in between): then the old name is given back and the action is
  *rolled back*;
- the file is at its old path only: the rename never happened, the action is *rolled back* and the
  file goes back to *unprocessed* so the next run does it again;
- a CBR conversion left both files: the new CBZ was complete before it got its name (it is written
  under a temporary name and linked into place), so the conversion is finished by removing the RAR,
  once the CBZ is checked to hold as many pages.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from comicmaintainer.archive import journal
from comicmaintainer.archive.atomic import fsync_dir, rename_no_replace
from comicmaintainer.archive.errors import ArchiveError
from comicmaintainer.archive.reader import read_archive
from comicmaintainer.library.paths import PathError, resolve_inside
from comicmaintainer.library.store import Action, Status, Store

log = logging.getLogger("comicmaintainer.recovery")


@dataclass
class RecoveryReport:
    journals: int = 0
    finished: list[str] = field(default_factory=list)
    rolled_back: list[str] = field(default_factory=list)


def recover(root: Path, store: Store, journal_dir: Path, *, settle_actions: bool = True) -> RecoveryReport:
    """``settle_actions=False`` when another process works on the library now (``LibraryPresence``):
    its pending actions are changes under way. Archive journals are settled either way (a live
    write holds its journal slot locked, and recovery passes over it)."""
    report = RecoveryReport(journals=_recover_journals(journal_dir))
    if not settle_actions:
        log.info("another process is working on this library: its pending changes are left to it")
    for action in store.pending_actions() if settle_actions else ():
        try:
            finished = _settle(root, store, action)
        except (PathError, OSError, ArchiveError) as exc:
            log.warning("history action %s could not be settled: %s", action.id, exc)
            continue
        (report.finished if finished else report.rolled_back).append(action.new_path or "")
    if report.journals or report.finished or report.rolled_back:
        log.info(
            "recovery: %d archive journals, %d changes finished, %d rolled back",
            report.journals,
            len(report.finished),
            len(report.rolled_back),
        )
    return report


def _recover_journals(journal_dir: Path) -> int:
    return len(journal.recover(journal_dir))


def _settle(root: Path, store: Store, action: Action) -> bool:
    """True when the change is found done (or finished now), False when it is rolled back."""
    old = resolve_inside(root, action.old_path) if action.old_path else None
    new = resolve_inside(root, action.new_path) if action.new_path else None
    old_there = old is not None and old.exists()
    new_there = new is not None and new.exists()
    if old_there and new_there and old != new and _is_conversion(action):
        _finish_conversion(old, new)  # type: ignore[arg-type]
        old_there = False
    if new_there and not old_there and _give_name_back(old, new, store, action):
        new_there, old_there = False, True
    if new_there and not (old_there and old != new):
        store.set_action_state(action.id, "done")
        return True
    store.set_action_state(action.id, "rolled_back")
    if old_there and action.old_path:
        store.mark(action.old_path, status=Status.UNPROCESSED)
    return False


def _give_name_back(old: Path | None, new: Path | None, store: Store, action: Action) -> bool:
    """The pipeline renames first, then writes the tags: a kill in between leaves the file renamed
    with its old tags. Then the rename is undone too (True), so the action is rolled back for real."""
    if old is None or new is None or old == new or not _tags_not_written(new, action):
        return False
    rename_no_replace(new, old)
    store.move_file(action.new_path or "", action.old_path or "")
    return True


def _tags_not_written(path: Path, action: Action) -> bool:
    """A process action that was to change the tags, on a file that still holds the old ones."""
    if action.kind != "process" or action.old_xml == action.new_xml or _is_conversion(action):
        return False
    try:
        return read_archive(path).comicinfo == action.old_xml
    except ArchiveError:  # cannot tell: the file is where the action put it, which is what counts
        return False


def _is_conversion(action: Action) -> bool:
    return (action.old_path or "").lower().endswith(".cbr") and (action.new_path or "").lower().endswith(
        ".cbz"
    )


def _finish_conversion(rar: Path, cbz: Path) -> None:
    if len(read_archive(cbz).pages) != len(read_archive(rar).pages):
        raise ArchiveError(f"{cbz.name} does not hold every page of {rar.name}; both kept")
    rar.unlink()
    fsync_dir(rar.parent)
