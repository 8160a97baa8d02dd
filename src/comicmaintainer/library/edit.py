"""A person's own tag edits: read every ComicInfo field of a file, and write the ones they changed.

Fields are named as ComicInfo.xml names them (``Series``, ``Number``, ``Summary`` …). The edit works
on the XML itself: each changed element is set or removed, then the document goes once through
``archive.comicinfo`` (comicapi, then the ComicInfo 2.0 fixes) so the file stays valid. A value the
schema cannot hold is refused with one plain line rather than silently dropped by that pass.

The write is the same careful one the pipeline uses (a whole new archive swapped in), recorded in
history as an ``edit`` action (pending, then done) so it can be undone, and the file is marked
``manual_edit`` so the watcher and later runs leave the person's choice alone.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from comicmaintainer.archive import cbz_write
from comicmaintainer.archive.atomic import fingerprint
from comicmaintainer.archive.comicinfo import SCHEMA_ORDER, build_comicinfo, parse_comicinfo
from comicmaintainer.archive.detect import detect_format
from comicmaintainer.archive.errors import CorruptArchive
from comicmaintainer.archive.reader import read_archive
from comicmaintainer.library.changes import FileChange
from comicmaintainer.library.paths import resolve_inside
from comicmaintainer.library.process import Context
from comicmaintainer.library.store import Status

# Every ComicInfo 2.0 element that holds a value; <Pages> describes the archive itself, not tags.
FIELDS: tuple[str, ...] = tuple(name for name in SCHEMA_ORDER if name != "Pages")
_WHOLE_NUMBERS = frozenset({"Count", "Volume", "AlternateCount", "Year", "Month", "Day", "PageCount"})
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MAX_VALUE = 100_000  # characters; a summary is long, a megabyte of text in one tag is a mistake


class EditError(ValueError):
    """A tag edit that cannot be made (bad field or value, RAR file); ``str()`` is one plain line."""


class NotInLibrary(EditError):
    """The path names no file in the library."""


@dataclass(frozen=True)
class EditOutcome:
    path: str
    before: dict[str, str | None]
    after: dict[str, str | None]
    changed: bool
    action_id: int | None = None


def read_tags(rel_path: str, ctx: Context) -> dict[str, Any]:
    """``{"path", "tags"}`` with every ComicInfo 2.0 field (None when absent)."""
    path = _existing(rel_path, ctx)
    return {"path": rel_path, "tags": fields_of(read_archive(path).comicinfo)}


def edit_tags(rel_path: str, changes: Mapping[str, str | None], ctx: Context) -> dict[str, Any]:
    """Set the given fields (``None`` or ``""`` removes one); returns ``{"path", "tags"}`` after the edit."""
    outcome = apply_tag_changes(rel_path, changes, ctx)
    return {"path": outcome.path, "tags": outcome.after}


def apply_tag_changes(rel_path: str, changes: Mapping[str, str | None], ctx: Context) -> EditOutcome:
    """`edit_tags` with the before/after and whether anything was written (for batch jobs)."""
    wanted = _checked_changes(changes)
    with ctx.locks.hold(rel_path):
        path = _existing(rel_path, ctx)
        if detect_format(path) != "zip":
            raise EditError("tags of a RAR cannot be written; process it to convert it to CBZ first")
        info = read_archive(path)
        before = fields_of(info.comicinfo)
        new_xml = _edited_xml(info.comicinfo, wanted)
        after = fields_of(new_xml)
        _check_kept(wanted, after)
        if after == before:
            return EditOutcome(rel_path, before, before, changed=False)
        action_id = _write(rel_path, path, info.comicinfo, new_xml, ctx)
        remember_write(rel_path, path, info.content_id, ctx, manual_edit=True)
    ctx.on_change(FileChange.updated(rel_path))
    return EditOutcome(rel_path, before, after, changed=True, action_id=action_id)


def fields_of(xml: bytes | None) -> dict[str, str | None]:
    """Every ComicInfo field's text in ``xml`` (None when absent or blank)."""
    values: dict[str, str | None] = dict.fromkeys(FIELDS)
    if not xml:
        return values
    root = _parse(xml)
    for name in FIELDS:
        text = root.findtext(name)
        values[name] = text.strip() if text and text.strip() else None
    return values


def _existing(rel_path: str, ctx: Context) -> Path:
    path = resolve_inside(ctx.settings.watched_dir, rel_path)  # PathError (a ValueError) when outside
    if not path.is_file():
        raise NotInLibrary(f"no such file in the library: {rel_path}")
    return path


def _checked_changes(changes: Mapping[str, str | None]) -> dict[str, str | None]:
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise EditError(f"unknown ComicInfo field: {', '.join(unknown)}")
    wanted: dict[str, str | None] = {}
    for name, value in changes.items():
        if value is not None and not isinstance(value, str):
            raise EditError(f"{name} must be text, got {type(value).__name__}")
        text = _XML_ILLEGAL.sub("", value).strip() if value else ""
        if len(text) > _MAX_VALUE:
            raise EditError(f"{name} is too long ({len(text)} characters, at most {_MAX_VALUE})")
        if text and name in _WHOLE_NUMBERS and not re.fullmatch(r"-?\d{1,9}", text):
            raise EditError(f"{name} must be a whole number, got {text[:40]!r}")
        wanted[name] = text or None
    return wanted


def _edited_xml(old_xml: bytes | None, wanted: Mapping[str, str | None]) -> bytes:
    """The old document with the wanted elements set or removed, made valid by archive.comicinfo."""
    root = _parse(old_xml) if old_xml else ET.Element("ComicInfo")
    for name, value in wanted.items():
        for element in root.findall(name):
            root.remove(element)
        if value is not None:
            ET.SubElement(root, name).text = value
    edited = ET.tostring(root, encoding="utf-8")
    return build_comicinfo(parse_comicinfo(edited), edited)


def _check_kept(wanted: Mapping[str, str | None], after: Mapping[str, str | None]) -> None:
    """Refuse a value the ComicInfo 2.0 pass had to drop or could not keep (e.g. Manga = "maybe")."""
    for name, value in wanted.items():
        if value is not None and not _same_value(value, after.get(name)):
            raise EditError(f"{name} cannot hold {value[:40]!r} in ComicInfo 2.0")


def _same_value(asked: str, stored: str | None) -> bool:
    """Equal up to case, spacing around commas and number spelling ("4.50" = "4.5", "007" = "7")."""
    if stored is None:
        return False

    def norm(text: str) -> str:
        return re.sub(r"\s*,\s*", ",", " ".join(text.split())).casefold()

    if norm(asked) == norm(stored):
        return True
    try:
        return Decimal(asked) == Decimal(stored)
    except InvalidOperation:
        return False


def _write(rel: str, path: Path, old_xml: bytes | None, new_xml: bytes, ctx: Context) -> int:
    store = ctx.store
    action_id = store.record_action("edit", rel, rel, old_xml, new_xml, state="pending")
    try:
        cbz_write.write_comicinfo(path, new_xml, journal_dir=ctx.settings.journal_dir)
    except BaseException:
        store.set_action_state(action_id, "rolled_back")
        raise
    store.set_action_state(action_id, "done")
    return action_id


def remember_write(rel: str, path: Path, content_id: str, ctx: Context, *, manual_edit: bool | None) -> None:
    """New fingerprint, so our own write is no outside change; status and error stay as they are, and
    so does manual_edit unless it is given (a person's edit sets it; a metadata write keeps it)."""
    row = ctx.store.get_file(rel)
    fp = fingerprint(path)
    ctx.store.mark(
        rel,
        status=row.status if row else Status.UNPROCESSED,
        error=row.error if row else None,
        duplicate_of=row.duplicate_of if row else None,
        size=fp.size,
        mtime_ns=fp.mtime_ns,
        inode=fp.inode,
        content_id=content_id,
        manual_edit=manual_edit if manual_edit is not None else bool(row and row.manual_edit),
    )


def _parse(xml: bytes) -> ET.Element:
    try:
        root = SafeET.fromstring(xml, forbid_dtd=True)
    except (DefusedXmlException, ET.ParseError) as exc:
        raise CorruptArchive(f"ComicInfo.xml is not valid XML: {exc}") from None
    if root.tag != "ComicInfo":
        raise CorruptArchive(f"ComicInfo.xml has root <{root.tag}>, not <ComicInfo>")
    return root
