"""Sync the store with the folder without opening a single archive.

A walk with `os.scandir` and one `stat` per file gives each file's fingerprint (size, mtime, inode).
New files become *unprocessed*, files whose fingerprint changed go back to *unprocessed*, rows whose
file is gone are dropped, and a file that vanished from one path and appeared at another with the
same fingerprint is a move: its row follows it, status and all, and it is not reprocessed.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from comicmaintainer.archive.atomic import is_temp_name
from comicmaintainer.library.store import FileRow, Status, Store

log = logging.getLogger("comicmaintainer.scanner")

ARCHIVE_SUFFIXES = (".cbz", ".cbr")
STALE_TEMP_SECONDS = 600


@dataclass
class ScanReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    moved: list[tuple[str, str]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def needs_work(self) -> list[str]:
        return self.added + self.changed


def is_archive_name(name: str) -> bool:
    """Archives by name; dotfiles (our temp files, macOS `._` forks) and partial downloads are not."""
    return not name.startswith(".") and name.lower().endswith(ARCHIVE_SUFFIXES)


def walk_archives(root: Path, *, sweep_temp: bool = False) -> Iterator[tuple[str, os.stat_result]]:
    """Yield (relative POSIX path, stat) for every archive below root, skipping dot-folders.

    With `sweep_temp`, our own temp files left behind by a killed write are removed on the way.
    """
    stack = [("", root)]
    while stack:
        prefix, folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            log.warning("cannot read folder %s: %s", folder, exc.strerror)
            continue
        for entry in entries:
            rel = f"{prefix}{entry.name}"
            if entry.name.startswith("."):
                if sweep_temp and is_temp_name(entry.name):
                    _remove_stale_temp(Path(entry.path))
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append((rel + "/", Path(entry.path)))
            elif is_archive_name(entry.name) and entry.is_file(follow_symlinks=False):
                try:
                    yield rel, entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue


def _remove_stale_temp(path: Path) -> None:
    """A temp file no write has touched for a while is a leftover: the original it was copying from
    is whole, so the half-built copy is only clutter. A fresh one may belong to a running write."""
    try:
        if time.time() - path.stat().st_mtime > STALE_TEMP_SECONDS:
            path.unlink()
            log.info("removed %s, left behind by an interrupted write", path)
    except OSError as exc:
        log.warning("cannot remove leftover %s: %s", path, exc.strerror)


def scan(root: Path, store: Store) -> ScanReport:
    report = ScanReport()
    known = store.all_fingerprints()
    on_disk = {
        rel: (st.st_size, st.st_mtime_ns, st.st_ino) for rel, st in walk_archives(root, sweep_temp=True)
    }
    gone = {rel: fp for rel, fp in known.items() if rel not in on_disk}
    gone_by_fp = {fp: rel for rel, fp in gone.items()}
    new_rows: list[FileRow] = []
    for rel, fp in on_disk.items():
        old_fp = known.get(rel)
        if old_fp == fp:
            continue
        if old_fp is None and fp in gone_by_fp:
            old_rel = gone_by_fp.pop(fp)
            store.move_file(old_rel, rel)
            report.moved.append((old_rel, rel))
            continue
        (report.added if old_fp is None else report.changed).append(rel)
        new_rows.append(_unprocessed_row(rel, fp))
    store.bulk_upsert(new_rows)
    for rel in gone_by_fp.values():
        store.delete_file(rel)
        report.removed.append(rel)
    report.counts = store.counts()
    return report


def _unprocessed_row(rel: str, fp: tuple[int, int, int]) -> FileRow:
    return FileRow(path=rel, size=fp[0], mtime_ns=fp[1], inode=fp[2], status=Status.UNPROCESSED)
