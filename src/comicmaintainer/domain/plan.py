"""What one file should become: the tags to write and the name to give it. Pure: no I/O.

The rules, in the order they apply:

- Series: a file inside a folder takes its series from the folder's name (``_`` read as ``:``);
  a file directly in the library root keeps the series of its tags, or else the one its name gives.
- Kind of book (``kinds.book_from``): chapter, volume, chapter range, part or special, from the name
  (and a Format tag ``Special``). A chapter's issue is the one of its tags, cleaned (``"007"`` ->
  ``"7"``), else the one its name gives.
- Tags a reader understands, by kind:

  ========  ===================================  ====================================
  kind      Number                               Title
  ========  ===================================  ====================================
  chapter   the chapter                          the title template (``Chapter {issue}``)
  range     its first chapter                    ``Chapters 1-8``
  part      its chapter                          ``Chapter 50 Part 1``
  volume    none (the volume if number_volumes)  ``Volume 3``
  special   after its chapter (``10.5``) or none ``Volume 10 Extra``; Format ``Special``
  ========  ===================================  ====================================

  A volume found in the name is written to Volume when the tags have none (always for a volume).
  The chapter title found in the name or the tags follows the kind's title after `` - `` when the
  title template asks for ``{chapter_title}``.
- Name: the template of the kind filled from the tags after the change, in the same folder. When
  that name is taken by a different book (``occupant``), the name gets what tells them apart.

A file whose book or series cannot be found is left alone and flagged for a person to look at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import PurePosixPath

from comicmaintainer.domain.kinds import (
    Book,
    book_from,
    chapter_title_from_tag,
    distinguishing_marks,
    same_book,
    special_number,
    special_text,
    title_for,
)
from comicmaintainer.domain.naming import (
    NamingRules,
    pad_issue,
    parse_name,
    render_filename,
    series_from_folder,
)

# The tags this program sets; the others are only read (and used in file names).
MANAGED_TAGS = ("series", "issue", "title", "volume", "format")


@dataclass(frozen=True)
class Tags:
    """The ComicInfo fields this program reads and sets; None when absent (``""`` clears one)."""

    series: str | None = None
    issue: str | None = None
    title: str | None = None
    volume: str | None = None
    year: str | None = None
    publisher: str | None = None
    format: str | None = None


@dataclass(frozen=True)
class FilePlan:
    """What to do with one file. ``new_rel_path`` is None when the name stays."""

    rel_path: str
    new_rel_path: str | None
    tags_before: Tags
    tags_after: Tags
    tag_changes: dict[str, tuple[str | None, str | None]]
    needs_attention: str | None
    normalized: bool
    kind: str | None = None

    @property
    def changes_anything(self) -> bool:
        return bool(self.tag_changes) or self.new_rel_path is not None


Occupant = Callable[[str], "Tags | None"]


def _leave_alone(rel_path: str, current: Tags, reason: str) -> FilePlan:
    return FilePlan(rel_path, None, current, current, {}, reason, normalized=False)


def _series(path: PurePosixPath, current: Tags, parsed_series: str | None) -> str | None:
    if path.parent.name:
        return series_from_folder(path.parent.name) or None
    return (current.series or "").strip() or parsed_series


def read_book(path: PurePosixPath, tags: Tags, rules: NamingRules) -> Book | None:
    """The book of the file at ``path`` with ``tags``, its chapter title from the name or the tags."""
    parsed = parse_name(path.name, path.parent.name or None)
    book = book_from(parsed, tags.issue, tags.volume, tags.format)
    if book is None or book.chapter_title:
        return book
    context = {"series": tags.series, "year": tags.year, "publisher": tags.publisher}
    return replace(book, chapter_title=chapter_title_from_tag(tags.title, book, rules, context))


def _number(book: Book, current: Tags, rules: NamingRules) -> str | None:
    if book.kind == "volume":
        number = book.volume if rules.number_volumes else None
    elif book.kind == "special":
        number = special_number(book)
    else:
        number = book.issue
    return number if number is not None else ("" if current.issue else None)


def _volume(book: Book, current: Tags) -> str | None:
    whole = book.volume if book.volume and book.volume.isdigit() else None
    if book.kind == "volume" or not current.volume:
        return whole or current.volume
    return current.volume


def _wanted_tags(book: Book, series: str, current: Tags, rules: NamingRules) -> Tags:
    context = {"series": series, "year": current.year, "publisher": current.publisher}
    return replace(
        current,
        series=series,
        issue=_number(book, current, rules),
        title=title_for(book, rules, context),
        volume=_volume(book, current),
        format="Special" if book.kind == "special" else current.format,
    )


def _name_fields(book: Book, tags: Tags, rules: NamingRules) -> dict[str, str | None]:
    values: dict[str, str | None] = {f.name: getattr(tags, f.name) for f in fields(Tags)}
    values.update(
        issue=book.issue,
        issue_end=book.issue_end,
        volume=book.volume or tags.volume,
        part=book.part,
        special=special_text(book, rules) if book.kind == "special" else None,
        chapter_title=book.chapter_title,
    )
    return values


def _wanted_name(
    path: PurePosixPath, book: Book, tags: Tags, rules: NamingRules, extension: str, occupant: Occupant
) -> tuple[str | None, str | None]:
    """(new path or None, problem or None): the kind's name, kept apart from a different book's."""
    name = render_filename(rules, _name_fields(book, tags, rules), extension, book.kind)
    new = path.with_name(name)
    if new == path:
        return None, None
    held = occupant(str(new))
    other = read_book(new, held, rules) if held is not None else None
    if other is None or same_book(book, other):
        return str(new), None  # free, or a duplicate of the same book
    marks = distinguishing_marks(book, other, rules.template_for(book.kind), rules)
    if marks is None:
        return None, f"the name {new.name} is taken by a different book; change the {book.kind} format"
    apart = path.with_name(f"{new.stem}{marks}{new.suffix}")
    return (None if apart == path else str(apart)), None


def _no_occupant(rel_path: str) -> Tags | None:
    return None


def plan_file(
    rel_path: str,
    current: Tags,
    rules: NamingRules,
    *,
    write_tags: bool = True,
    rename: bool = True,
    target_extension: str | None = None,
    occupant: Occupant = _no_occupant,
) -> FilePlan:
    """Plan the tags and the name of the file at ``rel_path`` (POSIX, relative to the library).

    ``write_tags=False`` plans no tag change and ``rename=False`` no rename; the other part is
    still planned from the tags the file should have, and ``normalized`` still says whether the
    file is fully as the rules want it. ``target_extension`` (``".cbz"``) names the file for a
    format it is about to be converted to. ``occupant(rel_path)`` gives the tags of the file that
    already has a name, or None when the name is free.
    """
    path = PurePosixPath(rel_path)
    book = read_book(path, current, rules)
    series = _series(path, current, parse_name(path.name, path.parent.name or None).series)
    if book is None:
        return _leave_alone(rel_path, current, "no issue number or volume in the tags or the file name")
    if series is None:
        return _leave_alone(rel_path, current, "no series in the folder, the tags or the file name")
    wanted = _wanted_tags(book, series, current, rules)
    after = wanted if write_tags else current
    changes = {
        key: (getattr(current, key), getattr(after, key))
        for key in MANAGED_TAGS
        if getattr(current, key) != getattr(after, key)
    }
    extension = target_extension if target_extension is not None else path.suffix
    wanted_path, problem = _wanted_name(path, book, wanted, rules, extension, occupant)
    if problem is not None:
        return _leave_alone(rel_path, current, problem)
    normalized = _same_tags(wanted, current) and wanted_path is None
    new_path = wanted_path if rename else None
    return FilePlan(rel_path, new_path, current, after, changes, None, normalized, book.kind)


def _same_tags(wanted: Tags, current: Tags) -> bool:
    """``""`` (clear) and None (absent) are one state once written."""
    return all((getattr(wanted, f.name) or None) == (getattr(current, f.name) or None) for f in fields(Tags))


def describe_name(filename: str, folder: str | None, rules: NamingRules) -> dict[str, str | None]:
    """What the rules make of a bare file name (no tags): the kind, its numbers and its title."""
    path = PurePosixPath(folder, filename) if folder else PurePosixPath(filename)
    parsed = parse_name(filename, folder)
    book = read_book(path, Tags(), rules)
    series = series_from_folder(folder) if folder else parsed.series
    title = title_for(book, rules, {"series": series, "year": parsed.year}) if book else None
    padded = pad_issue(book.issue, rules.padding) if book and book.issue else None
    return {
        "series": series,
        "kind": book.kind if book else None,
        "issue": book.issue if book else None,
        "issue_padded": padded,
        "issue_end": book.issue_end if book else None,
        "part": book.part if book else None,
        "special": book.special if book else None,
        "chapter_title": book.chapter_title if book else None,
        "title": title,
        "volume": book.volume if book else parsed.volume,
        "year": parsed.year,
    }


def same_book_at(
    rel_path: str, tags: Tags, other_rel_path: str, other_tags: Tags, rules: NamingRules
) -> bool:
    """Whether the file at ``other_rel_path`` holds the same book as the one at ``rel_path``; when
    either book cannot be told, they count as the same (the name is simply taken)."""
    mine = read_book(PurePosixPath(rel_path), tags, rules)
    other = read_book(PurePosixPath(other_rel_path), other_tags, rules)
    return mine is None or other is None or same_book(mine, other)
