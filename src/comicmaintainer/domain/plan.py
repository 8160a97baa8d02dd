"""What one file should become: the tags to write and the name to give it. Pure: no I/O.

The rules, in the order they apply:

- Series: a file inside a folder takes its series from the folder's name (``_`` read as ``:``);
  a file directly in the library root keeps the series of its tags, or else the one its name gives.
- Issue: the issue of the tags, cleaned (``"007"`` -> ``"7"``); else the one its name gives.
- Title: ``Chapter {issue}``, unpadded.
- Name: the naming template filled from the tags after the change, in the same folder.

A file whose issue or series cannot be found is left alone and flagged for a person to look at.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import PurePosixPath

from comicmaintainer.domain.naming import (
    NamingRules,
    clean_issue,
    parse_name,
    render_filename,
    series_from_folder,
)

# The tags this program sets; the others are only read (and used in file names).
MANAGED_TAGS = ("series", "issue", "title")


@dataclass(frozen=True)
class Tags:
    """The ComicInfo fields this program reads and sets; None when absent."""

    series: str | None = None
    issue: str | None = None
    title: str | None = None
    volume: str | None = None
    year: str | None = None
    publisher: str | None = None


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

    @property
    def changes_anything(self) -> bool:
        return bool(self.tag_changes) or self.new_rel_path is not None


def _leave_alone(rel_path: str, current: Tags, reason: str) -> FilePlan:
    return FilePlan(rel_path, None, current, current, {}, reason, normalized=False)


def _series(path: PurePosixPath, current: Tags, parsed_series: str | None) -> str | None:
    if path.parent.name:
        return series_from_folder(path.parent.name) or None
    return (current.series or "").strip() or parsed_series


def _new_rel_path(path: PurePosixPath, after: Tags, rules: NamingRules, extension: str) -> str | None:
    name = render_filename(rules, {f.name: getattr(after, f.name) for f in fields(Tags)}, extension)
    new = path.with_name(name)
    return None if new == path else str(new)


def plan_file(
    rel_path: str,
    current: Tags,
    rules: NamingRules,
    *,
    write_tags: bool = True,
    rename: bool = True,
    target_extension: str | None = None,
) -> FilePlan:
    """Plan the tags and the name of the file at ``rel_path`` (POSIX, relative to the library).

    ``write_tags=False`` plans no tag change and ``rename=False`` no rename; the other part is
    still planned from the tags the file should have, and ``normalized`` still says whether the
    file is fully as the rules want it. ``target_extension`` (``".cbz"``) names the file for a
    format it is about to be converted to.
    """
    path = PurePosixPath(rel_path)
    parsed = parse_name(path.name, path.parent.name or None)
    series = _series(path, current, parsed.series)
    issue = clean_issue(current.issue or "") or parsed.issue
    if issue is None:
        return _leave_alone(rel_path, current, "no issue number in the tags or the file name")
    if series is None:
        return _leave_alone(rel_path, current, "no series in the folder, the tags or the file name")
    wanted = replace(current, series=series, issue=issue, title=f"Chapter {issue}")
    after = wanted if write_tags else current
    changes = {
        key: (getattr(current, key), getattr(after, key))
        for key in MANAGED_TAGS
        if getattr(current, key) != getattr(after, key)
    }
    extension = target_extension if target_extension is not None else path.suffix
    wanted_path = _new_rel_path(path, wanted, rules, extension)
    normalized = wanted == current and wanted_path is None
    return FilePlan(rel_path, wanted_path if rename else None, current, after, changes, None, normalized)
