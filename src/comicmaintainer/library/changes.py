"""What the library tells the rest of the program when a file (or a folder) changes.

The pipeline, edits, undo, deletes and the watcher's moves each emit one `FileChange` through
`Context.on_change`; the server forwards it on the event bus as a ``file_changed`` event. The kinds
are an enum defined here, once, so a kind that does not exist cannot be sent: a typo is a type
error and, at run time, fails where the record is made instead of in the bus or in every browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ChangeKind(StrEnum):
    ADDED = "added"  # a file appeared in the list (e.g. undo put it back)
    PROCESSED = "processed"  # the pipeline finished it
    UPDATED = "updated"  # its row changed otherwise (tags edited, needs attention, ...)
    RENAMED = "renamed"  # the file moved from old_path to path
    DELETED = "deleted"  # it left the list (trash, set aside as a duplicate, gone from disk)
    FOLDER_RENAMED = "folder_renamed"  # a whole folder moved from old_path to path; rows followed it


_MOVES = frozenset({ChangeKind.RENAMED, ChangeKind.FOLDER_RENAMED})


@dataclass(frozen=True, slots=True)
class FileChange:
    """One change: ``path`` is where the file (or folder) is now; ``old_path`` where it was."""

    kind: ChangeKind
    path: str
    old_path: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kind, ChangeKind):
            raise TypeError(f"a change kind is a ChangeKind, not {self.kind!r}")
        if (self.kind in _MOVES) != bool(self.old_path):
            raise ValueError(f"{self.kind.value}: old_path is needed for a move and only for a move")

    @classmethod
    def added(cls, path: str) -> FileChange:
        return cls(ChangeKind.ADDED, path)

    @classmethod
    def processed(cls, path: str) -> FileChange:
        return cls(ChangeKind.PROCESSED, path)

    @classmethod
    def updated(cls, path: str) -> FileChange:
        return cls(ChangeKind.UPDATED, path)

    @classmethod
    def deleted(cls, path: str) -> FileChange:
        return cls(ChangeKind.DELETED, path)

    @classmethod
    def renamed(cls, old_path: str, path: str) -> FileChange:
        return cls(ChangeKind.RENAMED, path, old_path)

    @classmethod
    def folder_renamed(cls, old_path: str, path: str) -> FileChange:
        return cls(ChangeKind.FOLDER_RENAMED, path, old_path)


def ignore_change(change: FileChange) -> None:
    """The default receiver: a front with no live clients (the CLI) has no one to tell."""
