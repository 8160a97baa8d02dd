"""The watcher's view of the program: the store and the one `process` pipeline.

`run_batch` decides how finished files are processed: the `watch` command calls the pipeline on each
directly; the server hands the batch to the job engine as one low-priority watcher job. Either way it
is the same `process`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable

from comicmaintainer.library.changes import FileChange
from comicmaintainer.library.process import Context, process
from comicmaintainer.library.scanner import scan
from comicmaintainer.library.store import Status
from comicmaintainer.watcher.service import process_each


class PipelineTarget:
    def __init__(self, ctx: Context, run_batch: Callable[[list[str]], dict[str, str]] | None = None) -> None:
        self.ctx = ctx
        self._run_batch = run_batch or self._process_each

    def known_fingerprint(self, rel_path: str) -> tuple[int, int, int] | None:
        """The fingerprint after our own last write (or a person's edit); None if the file still needs work.

        A row the scanner merely saw (unprocessed, no manual edit) has a fingerprint too, but it is
        not ours: answering None for it makes the watcher process the file.
        """
        row = self.ctx.store.get_file(rel_path)
        if row is None or (row.status == Status.UNPROCESSED and not row.manual_edit):
            return None
        return (row.size, row.mtime_ns, row.inode)

    def process_batch(self, rel_paths: list[str]) -> dict[str, str]:
        return self._run_batch(rel_paths)

    def _process_each(self, rel_paths: list[str]) -> dict[str, str]:
        return process_each(lambda rel: process(rel, self.ctx), rel_paths)

    def forget(self, rel_path: str) -> None:
        self.ctx.store.delete_file(rel_path)
        self.ctx.on_change(FileChange.deleted(rel_path))

    def move(self, old_rel: str, new_rel: str) -> None:
        self.ctx.store.move_file(old_rel, new_rel)
        self.ctx.on_change(FileChange.renamed(old_rel, new_rel))

    def move_folder(self, old_rel: str, new_rel: str) -> None:
        """Rows follow the folder without reprocessing. Only when the folder's own name changed do
        the files directly in it (whose series is that name) go back to unprocessed."""
        if not self.ctx.store.move_prefix(old_rel, new_rel):
            return  # no row was under it (an empty folder, or a move the observer reported twice)
        if posixpath.basename(old_rel) != posixpath.basename(new_rel):
            for row in self.ctx.store.files():
                if row.folder == new_rel:
                    self.ctx.store.mark(row.path, status=Status.UNPROCESSED)
        self.ctx.on_change(FileChange.folder_renamed(old_rel, new_rel))

    def unreadable(self, rel_path: str) -> None:
        row = self.ctx.store.get_file(rel_path)
        if row is None or row.status != Status.NEEDS_ATTENTION:
            reason = "not a readable archive (damaged, or still arriving); left as it is"
            self.ctx.store.mark(rel_path, status=Status.NEEDS_ATTENTION, error=reason)
            self.ctx.on_change(FileChange.updated(rel_path))

    def catch_up(self) -> list[str]:
        """Reconcile the store with the folder (a folder vanished, events were lost); the rows that
        changed are announced like any other change, so open pages follow a deleted folder too."""
        report = scan(self.ctx.settings.watched_dir, self.ctx.store)
        for rel in report.removed:
            self.ctx.on_change(FileChange.deleted(rel))
        for old, new in report.moved:
            self.ctx.on_change(FileChange.renamed(old, new))
        for rel in report.added:
            self.ctx.on_change(FileChange.added(rel))
        for rel in report.changed:
            self.ctx.on_change(FileChange.updated(rel))
        return [row.path for row in self.ctx.store.files(Status.UNPROCESSED) if not row.manual_edit]
