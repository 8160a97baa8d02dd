"""Writing a series' matched fields into one chapter, and the ``match`` job's work on one item.

The write is the pipeline's own: under the shared per-path lock, recorded in history first as
*pending* (kind ``metadata``, undoable like any tag change), written by the same in-place tag writer
(``cbz_write.write_comicinfo``), then *done*; the file's fingerprint is remembered so our write is
no outside change. Before that, the chapter goes through ``library.process`` once, so a chapter
that was never normalized gets its series, number and title by our rules first.

What is written is decided by `match.changes`: never Series/Number/Title, never a field a person
edited by hand (read from their ``edit`` actions in history), and a field that is already set only
when ``metadata_overwrite`` is on.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from typing import Any

import defusedxml.ElementTree as SafeET

from comicmaintainer.archive import cbz_write
from comicmaintainer.archive.comicinfo import build_comicinfo, parse_comicinfo
from comicmaintainer.archive.detect import detect_format
from comicmaintainer.archive.errors import ArchiveError
from comicmaintainer.archive.reader import read_archive
from comicmaintainer.library.changes import FileChange
from comicmaintainer.library.edit import fields_of, remember_write
from comicmaintainer.library.paths import resolve_inside
from comicmaintainer.library.process import Context, Stage, process
from comicmaintainer.library.store import SeriesMatch
from comicmaintainer.metadata import match as ranking
from comicmaintainer.metadata.model import SeriesRecord, SourceError
from comicmaintainer.metadata.service import MetadataService, folder_of

ACTION_KIND = "metadata"


def edited_by_hand(rel: str, service: MetadataService) -> set[str]:
    """The ComicInfo fields a person changed in ``rel`` with the tag editor (their edits stand)."""
    fields: set[str] = set()
    for old_xml, new_xml in service.data.edits_of(rel):
        before, after = fields_of(old_xml), fields_of(new_xml)
        fields |= {name for name in after if after[name] != before.get(name)}
    return fields


def write_match(
    rel: str, match: SeriesMatch, ctx: Context, service: MetadataService, *, dry_run: bool = False
) -> dict[str, Any]:
    """Write the match's fields into one chapter; the pipeline's Result shape (``to_json``)."""
    record = SeriesRecord.from_json(match.record or {})
    wanted = ranking.fields_for(record)
    kept = edited_by_hand(rel, service)
    with ctx.locks.hold(rel):
        path = resolve_inside(ctx.settings.watched_dir, rel)
        if detect_format(path) != "zip":
            return _result(
                rel, "unchanged", {}, {}, "RAR tags cannot be written; process it to convert it to CBZ"
            )
        info = read_archive(path)
        current = fields_of(info.comicinfo)
        todo = ranking.changes(current, wanted, overwrite=ctx.settings.metadata_overwrite, kept=kept)
        before = {name: current.get(name) for name in todo}
        if not todo:
            return _result(rel, "unchanged", before, dict(before), None, dry_run=dry_run)
        if dry_run:
            return _result(rel, "processed", before, dict(todo), None, dry_run=True)
        new_xml = _with_fields(info.comicinfo, todo)
        action_id = ctx.store.record_action(ACTION_KIND, rel, rel, info.comicinfo, new_xml, state="pending")
        try:
            cbz_write.write_comicinfo(path, new_xml, journal_dir=ctx.settings.journal_dir)
        except BaseException:
            ctx.store.set_action_state(action_id, "rolled_back")
            raise
        ctx.store.set_action_state(action_id, "done")
        remember_write(rel, path, info.content_id, ctx, manual_edit=None)
    ctx.on_change(FileChange.updated(rel))
    result = _result(rel, "processed", before, dict(todo), f"{len(todo)} fields from {match.source}")
    result["action_id"] = action_id
    return result


def match_item(
    rel: str,
    ctx: Context,
    service: MetadataService,
    *,
    on_stage: Callable[[Stage], None] = lambda s: None,
    dry_run: bool = False,
    source: str | None = None,
) -> dict[str, Any]:
    """One ``match`` job item (a chapter): its folder's match, then the fields written into it."""
    folder = folder_of(rel)
    if folder is None:
        return _result(rel, "unchanged", {}, {}, "not in a series folder; nothing to match")
    if not dry_run:  # our rules first, whatever the sources say (a watcher's match job relies on it)
        normalized = process(rel, ctx, on_stage=on_stage)
        if normalized.failed or normalized.outcome in ("needs_attention", "duplicate"):
            return normalized.to_json()
        rel = normalized.new_path or rel
    on_stage("reading")
    try:
        match = service.series_match(folder, source=source)
    except SourceError as exc:
        return _result(rel, "failed", {}, {}, str(exc))
    if match.status == "needs_match":
        best = f" (best candidate scored {match.score:.0f})" if match.score is not None else ""
        return _result(rel, "unchanged", {}, {}, f"{folder} needs a match{best}; choose one on the page")
    on_stage("tagging")
    try:
        return write_match(rel, match, ctx, service, dry_run=dry_run)
    except (ArchiveError, OSError) as exc:
        return _result(rel, "failed", {}, {}, " ".join(str(exc).split()))


def _with_fields(old_xml: bytes | None, fields: Mapping[str, str]) -> bytes:
    """The old document with ``fields`` set, made valid for ComicInfo 2.0 by archive.comicinfo."""
    root = SafeET.fromstring(old_xml, forbid_dtd=True) if old_xml else ET.Element("ComicInfo")
    for name, value in fields.items():
        for element in root.findall(name):
            root.remove(element)
        ET.SubElement(root, name).text = value
    edited = ET.tostring(root, encoding="utf-8")
    return build_comicinfo(parse_comicinfo(edited), edited)


def _result(
    rel: str,
    outcome: str,
    before: dict[str, Any],
    after: dict[str, Any],
    message: str | None,
    *,
    dry_run: bool = False,
) -> dict[str, Any]:
    return {
        "path": rel,
        "outcome": outcome,
        "new_path": None,
        "tags_before": before,
        "tags_after": after,
        "message": message,
        "action_id": None,
        "dry_run": dry_run,
    }
