"""The consistency check over the library: the rules are in `domain.consistency`; this reads the tags.

The store keeps no tags, so each archive's ComicInfo.xml is read (through `archive.reader`, like
every other read). Files the store lists as set-aside duplicates are left out: they are meant to
repeat a number. A file that cannot be read is a finding of its own and nothing else is said of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from comicmaintainer.archive.errors import ArchiveError
from comicmaintainer.archive.reader import read_archive
from comicmaintainer.domain.consistency import BookTags, Finding, check_books
from comicmaintainer.library.edit import fields_of
from comicmaintainer.library.paths import PathError, resolve_inside
from comicmaintainer.library.store import Status, Store

FIX_ACTIONS = ("normalize", "tag_update")


@dataclass(frozen=True)
class Report:
    files: int
    folders: int
    findings: list[Finding] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "folders": self.folders,
            "findings": [f.to_json() for f in self.findings],
        }


def check_library(root: Path, store: Store, folder: str | None = None) -> Report:
    """Check every file the store knows (or those of one ``folder``, its subfolders not included)."""
    rows = [
        r for r in store.files() if r.status != Status.DUPLICATE and (folder is None or r.folder == folder)
    ]
    books: list[BookTags] = []
    unreadable: list[Finding] = []
    for row in rows:
        book = read_book(root, row.path)
        if isinstance(book, BookTags):
            books.append(book)
        else:
            unreadable.append(Finding("unreadable", row.folder, f"{row.name}: {book}", (row.path,)))
    findings = check_books(books) + unreadable
    findings.sort(key=lambda f: (f.folder, f.kind))
    return Report(files=len(rows), folders=len({r.folder for r in rows}), findings=findings)


def read_book(root: Path, rel: str) -> BookTags | str:
    """The tags the check needs, or one line saying why the archive could not be read."""
    try:
        fields = fields_of(read_archive(resolve_inside(root, rel)).comicinfo)
    except (ArchiveError, OSError, PathError) as exc:
        return " ".join(str(exc).split()) or type(exc).__name__
    return BookTags(
        path=rel,
        series=fields["Series"],
        number=fields["Number"],
        volume=fields["Volume"],
        language=fields["LanguageISO"],
        manga=fields["Manga"],
    )


def folder_paths(store: Store, folder: str) -> list[str]:
    """The files a folder fix runs over: the folder's own files, duplicates set aside left out."""
    return [r.path for r in store.files() if r.folder == folder and r.status != Status.DUPLICATE]
