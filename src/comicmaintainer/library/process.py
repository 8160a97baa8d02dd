"""The one pipeline: read an archive, plan its normalization, apply the plan safely, record it.

The CLI, the watcher and web jobs all call `process`. Every change to a user's file happens here,
in this order: a no-replace rename to the new name (which claims it: a file that loses the name to
another is set aside before anything is written to it), then the tags (the archive is whole at every
instant; if they cannot be written the old name is given back), each change recorded in history as
*pending* before it happens and *done* after, so that nothing is ever overwritten and an interrupted
change can be finished or rolled back.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from comicmaintainer.archive import cbz_write
from comicmaintainer.archive.atomic import fingerprint, fsync_dir, rename_no_replace
from comicmaintainer.archive.cbr import convert_rar_to_cbz
from comicmaintainer.archive.comicinfo import apply_tags, build_comicinfo, tags_from_metadata
from comicmaintainer.archive.errors import ArchiveError
from comicmaintainer.archive.reader import ArchiveInfo, read_archive
from comicmaintainer.config import Settings
from comicmaintainer.domain.plan import FilePlan, Tags, plan_file, same_book_at
from comicmaintainer.library.changes import FileChange, ignore_change
from comicmaintainer.library.locks import PathLocks
from comicmaintainer.library.paths import resolve_inside, to_rel
from comicmaintainer.library.store import Status, Store

log = logging.getLogger("comicmaintainer.process")

Mode = Literal["full", "rename", "normalize"]
Outcome = Literal["processed", "unchanged", "duplicate", "needs_attention", "failed"]


@dataclass
class Context:
    """What the pipeline needs; built once by each front (CLI, watcher, server)."""

    settings: Settings
    store: Store
    locks: PathLocks = field(default_factory=PathLocks)
    # Hears every change to a file or folder; the server forwards each to live clients.
    on_change: Callable[[FileChange], None] = ignore_change
    source: str = "cli"


Stage = Literal["reading", "tagging", "renaming"]
_PLANS = 3  # a file whose planned name other books keep taking meanwhile is planned at most this often


class TakenByAnotherBook(ArchiveError):
    """The planned name was free, then a different book (another worker's file) took it."""


def _no_stage(stage: Stage) -> None:
    return None


@dataclass(frozen=True)
class Claim:
    """In a batch dry run: a name that a file of the batch keeps or would take, and its tags there."""

    path: str  # the file's name now
    tags: Tags


_NO_CLAIMS: Mapping[str, Claim] = {}


@dataclass(frozen=True)
class Result:
    path: str
    outcome: Outcome
    new_path: str | None = None
    tags_before: dict[str, str | None] = field(default_factory=dict)
    tags_after: dict[str, str | None] = field(default_factory=dict)
    duplicate_of: str | None = None
    identical: bool | None = None
    moved_to: str | None = None
    message: str | None = None
    action_id: int | None = None
    dry_run: bool = False

    @property
    def failed(self) -> bool:
        return self.outcome == "failed"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def process(
    path: Path | str,
    ctx: Context,
    *,
    dry_run: bool = False,
    mode: Mode = "full",
    force: bool = False,
    on_stage: Callable[[Stage], None] = _no_stage,
    claims: Mapping[str, Claim] = _NO_CLAIMS,
) -> Result:
    """Normalize one archive. Never raises for a problem with the file: the Result says what happened.

    `on_stage` hears "reading", "tagging", "renaming" as the file goes through them (for job progress).
    `claims` (a batch dry run, see `library.preview`) are names the batch takes, seen as taken.
    """
    root = ctx.settings.watched_dir
    try:
        rel = to_rel(root, Path(path)) if Path(path).is_absolute() else str(PurePosixPath(path))
        resolve_inside(root, rel)
    except ValueError as exc:
        return Result(path=str(path), outcome="failed", message=str(exc), dry_run=dry_run)
    with ctx.locks.hold(rel):
        try:
            for _ in range(_PLANS - 1):
                try:
                    return _process_locked(rel, ctx, dry_run, mode, force, on_stage, claims)
                except TakenByAnotherBook:
                    continue  # the next plan sees the book that took the name, and keeps apart from it
            return _process_locked(rel, ctx, dry_run, mode, force, on_stage, claims)
        except (ArchiveError, OSError) as exc:
            message = _one_line(exc)
            log.warning("%s: %s", rel, message)
            if not dry_run and resolve_inside(root, rel).exists():
                ctx.store.mark(rel, status=Status.NEEDS_ATTENTION, error=message)
                ctx.on_change(FileChange.updated(rel))
            return Result(path=rel, outcome="failed", message=message, dry_run=dry_run)


def _process_locked(
    rel: str,
    ctx: Context,
    dry_run: bool,
    mode: Mode,
    force: bool,
    on_stage: Callable[[Stage], None],
    claims: Mapping[str, Claim],
) -> Result:
    settings, store = ctx.settings, ctx.store
    source = resolve_inside(settings.watched_dir, rel)
    if not source.is_file():
        raise ArchiveError(f"file vanished before it could be processed: {rel}")
    if not force and not dry_run and _unchanged_since_processed(rel, source, store):
        return Result(path=rel, outcome="unchanged", message="already processed; file unchanged")
    on_stage("reading")
    info = read_archive(source)
    convert = info.format == "rar" and settings.convert_cbr_to_cbz and mode != "normalize"
    plan = plan_file(
        rel,
        tags_from_metadata(info.metadata),
        settings.naming,
        write_tags=mode != "rename",
        rename=mode != "normalize",
        target_extension=".cbz" if convert else None,
        occupant=lambda taken: _claimed_tags(claims, taken) or _tags_at(settings.watched_dir, taken),
    )
    before, after = asdict(plan.tags_before), asdict(plan.tags_after)
    if plan.needs_attention:
        if not dry_run:
            _mark(ctx, rel, source, Status.NEEDS_ATTENTION, info, error=plan.needs_attention)
        return Result(
            rel, "needs_attention", tags_before=before, message=plan.needs_attention, dry_run=dry_run
        )
    if not plan.changes_anything and not convert:
        if not dry_run:
            _mark(ctx, rel, source, Status.PROCESSED, info)
        return Result(rel, "unchanged", tags_before=before, tags_after=after, dry_run=dry_run)
    if dry_run:
        return _dry_run_result(rel, plan, info, ctx, claims)
    return _apply(rel, source, plan, info, ctx, convert=convert, on_stage=on_stage)


def _tags_at(root: Path, rel: str) -> Tags | None:
    """The tags of the file that has the name ``rel``, so a plan can tell a duplicate from a
    different book; None when the name is free. An unreadable file counts as one without tags."""
    target = resolve_inside(root, rel)
    if not target.is_file():
        return None
    try:
        return tags_from_metadata(read_archive(target).metadata)
    except (ArchiveError, OSError):
        return Tags()


def _claimed_tags(claims: Mapping[str, Claim], rel: str) -> Tags | None:
    claim = claims.get(rel)
    return claim.tags if claim is not None else None


def _unchanged_since_processed(rel: str, source: Path, store: Store) -> bool:
    """A second run must not open archives whose fingerprint has not changed since we processed them.

    A file a person edited or restored by hand (manual_edit) is likewise left as they made it.
    """
    row = store.get_file(rel)
    if row is None or not (row.status == Status.PROCESSED or row.manual_edit):
        return False
    fp = fingerprint(source)
    return (row.size, row.mtime_ns, row.inode) == (fp.size, fp.mtime_ns, fp.inode)


def _apply(
    rel: str,
    source: Path,
    plan: FilePlan,
    info: ArchiveInfo,
    ctx: Context,
    *,
    convert: bool,
    on_stage: Callable[[Stage], None],
) -> Result:
    before, after = asdict(plan.tags_before), asdict(plan.tags_after)
    target_rel = plan.new_rel_path or rel
    # The new name is held from the check that it is free until the file has it and its tags: a
    # second worker bound for the same name waits here, then finds it taken and sets its file aside
    # untouched. (Another process cannot see this lock; the no-replace rename before any write is
    # what keeps a file it raced with untouched.)
    with ctx.locks.hold(target_rel, timeout=CLAIM_TIMEOUT):
        if target_rel != rel and resolve_inside(ctx.settings.watched_dir, target_rel).exists():
            # A duplicate is set aside exactly as it came: nothing is written to it.
            aside = _set_aside(rel, source, target_rel, info, ctx)
            return Result(rel, "duplicate", tags_before=before, tags_after=before, **aside)
        new_xml = build_comicinfo(apply_tags(info.metadata, plan.tags_after), info.comicinfo)
        writes_tags = info.format == "zip" and bool(plan.tag_changes)
        action_id = ctx.store.record_action(
            "process",
            rel,
            target_rel,
            info.comicinfo,
            new_xml if (writes_tags or convert) else info.comicinfo,
            state="pending",
        )
        change = _Change(rel, source, target_rel, new_xml, info, writes_tags)
        try:
            final_rel, dup = _carry_out(change, ctx, convert, on_stage)
        except BaseException:
            _settle_failed(change, action_id, ctx)
            raise
    if dup is not None:
        # The name was taken between the check above and the rename, by a file this process does
        # not know of; nothing had been written to this one, so the action is truly rolled back.
        ctx.store.set_action_state(action_id, "rolled_back")
        return Result(rel, "duplicate", tags_before=before, tags_after=before, **dup)
    ctx.store.set_action_state(action_id, "done")
    message = None
    if info.format == "rar" and not convert and plan.tag_changes:
        message = "RAR tags left alone: RAR cannot be written and convert_cbr_to_cbz is off"
    new_path = final_rel if final_rel != rel else None
    return Result(
        rel,
        "processed",
        new_path=new_path,
        tags_before=before,
        tags_after=after,
        message=message,
        action_id=action_id,
    )


# How long a worker waits for another one to finish with the name it wants (seconds). Holding a
# name takes as long as one tag write; the bound only breaks the rare circle of two files swapping
# names, which then fail with a plain "busy" line and are tried again later.
CLAIM_TIMEOUT = 60.0

DupInfo = dict[str, Any]


@dataclass(frozen=True)
class _Change:
    """One planned change of a file: its name (``rel`` → ``target_rel``) and maybe its tags."""

    rel: str
    source: Path
    target_rel: str
    new_xml: bytes
    info: ArchiveInfo
    writes_tags: bool


def _carry_out(
    change: _Change, ctx: Context, convert: bool, on_stage: Callable[[Stage], None]
) -> tuple[str, DupInfo | None]:
    """A RAR is converted; a zip gets its new name first, then its tags, so a lost race costs no write."""
    rel, source, info = change.rel, change.source, change.info
    if convert:
        on_stage("tagging")
        return _convert(rel, source, change.target_rel, change.new_xml, info, ctx)
    if change.target_rel == rel:
        if change.writes_tags:
            on_stage("tagging")
            cbz_write.write_comicinfo(source, change.new_xml, journal_dir=ctx.settings.journal_dir)
        _mark(ctx, rel, source, Status.PROCESSED, info)
        return rel, None
    on_stage("renaming")
    target = resolve_inside(ctx.settings.watched_dir, change.target_rel)
    try:
        rename_no_replace(source, target)
    except FileExistsError:
        return rel, _set_aside(rel, source, change.target_rel, info, ctx)
    ctx.store.move_file(rel, change.target_rel)
    if change.writes_tags:
        on_stage("tagging")
        try:
            cbz_write.write_comicinfo(target, change.new_xml, journal_dir=ctx.settings.journal_dir)
        except BaseException:
            _put_back(change, target, ctx)
            raise
    _mark(ctx, change.target_rel, target, Status.PROCESSED, info)
    ctx.on_change(FileChange.renamed(rel, change.target_rel))
    return change.target_rel, None


def _put_back(change: _Change, target: Path, ctx: Context) -> None:
    """The tags could not be written (the archive keeps its old bytes): give back the old name too."""
    try:
        rename_no_replace(target, change.source)
    except OSError as exc:
        log.error("%s: tags not written, and it stays at %s: %s", change.rel, change.target_rel, exc)
        return
    ctx.store.move_file(change.target_rel, change.rel)


def _settle_failed(change: _Change, action_id: int, ctx: Context) -> None:
    """A change that raised is rolled back, unless the file could not be renamed back: its action
    then stays pending, and the next start's recovery settles it from what is on disk."""
    target = resolve_inside(ctx.settings.watched_dir, change.target_rel)
    if change.target_rel != change.rel and target.exists() and not change.source.exists():
        return
    ctx.store.set_action_state(action_id, "rolled_back")


def _convert(rel: str, source: Path, target_rel: str, xml: bytes, info: ArchiveInfo, ctx: Context):
    """A true RAR becomes a CBZ: the new file is complete and fsynced before the RAR is removed."""
    target = resolve_inside(ctx.settings.watched_dir, target_rel)
    try:
        convert_rar_to_cbz(source, target, xml)
    except FileExistsError:
        return rel, _set_aside(rel, source, target_rel, info, ctx)
    source.unlink()
    fsync_dir(source.parent)
    ctx.store.delete_file(rel)
    # The CBZ holds the same pages, so its content id is the RAR's (archive tests hold it to that).
    _mark(ctx, target_rel, target, Status.PROCESSED, info)
    ctx.on_change(FileChange.renamed(rel, target_rel))
    return target_rel, None


def _set_aside(rel: str, source: Path, taken_rel: str, info: ArchiveInfo, ctx: Context) -> DupInfo:
    """The name is taken by another file: this one is a duplicate. Moved to DUPLICATE_DIR when set."""
    held = _tags_at(ctx.settings.watched_dir, taken_rel)
    mine = tags_from_metadata(info.metadata)
    if held is not None and not same_book_at(rel, mine, taken_rel, held, ctx.settings.naming):
        raise TakenByAnotherBook(f"{taken_rel} was taken by a different book; plan {rel} again")
    other = resolve_inside(ctx.settings.watched_dir, taken_rel)
    identical = _same_pages(info, other)
    dup: DupInfo = {"duplicate_of": taken_rel, "identical": identical}
    kind = "identical copy" if identical else "different version"
    if ctx.settings.duplicate_dir is None:
        _mark(ctx, rel, source, Status.DUPLICATE, info, duplicate_of=taken_rel)
        dup["message"] = f"duplicate of {taken_rel} ({kind})"
        return dup
    moved = _move_to_duplicates(source, rel, ctx.settings.duplicate_dir)
    ctx.store.record_action("duplicate", rel, str(moved), None, None)
    ctx.store.delete_file(rel)
    ctx.on_change(FileChange.deleted(rel))
    dup.update(moved_to=str(moved), message=f"duplicate of {taken_rel} ({kind}), moved to {moved}")
    log.info("%s: duplicate of %s (%s), moved to %s", rel, taken_rel, kind, moved)
    return dup


def _same_pages(info: ArchiveInfo, other: Path) -> bool | None:
    try:
        return read_archive(other).content_id == info.content_id
    except (ArchiveError, OSError):
        return None


def _move_to_duplicates(source: Path, rel: str, duplicate_dir: Path) -> Path:
    """DUPLICATE_DIR/<path relative to WATCHED_DIR>; a name taken there too gets ' (1)', ' (2)' …"""
    wanted = duplicate_dir / rel
    wanted.parent.mkdir(parents=True, exist_ok=True)
    for n in range(0, 10_000):
        candidate = wanted if n == 0 else wanted.with_name(f"{wanted.stem} ({n}){wanted.suffix}")
        try:
            rename_no_replace(source, candidate)
            fsync_dir(source.parent)
            return candidate
        except FileExistsError:
            continue
    raise ArchiveError(f"no free name for a duplicate of {rel} in {duplicate_dir}")


def _dry_run_result(
    rel: str, plan: FilePlan, info: ArchiveInfo, ctx: Context, claims: Mapping[str, Claim]
) -> Result:
    before, after = asdict(plan.tags_before), asdict(plan.tags_after)
    target_rel = plan.new_rel_path or rel
    root = ctx.settings.watched_dir
    claim = claims.get(target_rel)
    if target_rel != rel and (claim is not None or resolve_inside(root, target_rel).exists()):
        holder = claim.path if claim is not None else target_rel  # the file with those pages now
        return Result(
            rel,
            "duplicate",
            tags_before=before,
            tags_after=after,
            duplicate_of=target_rel,
            identical=_same_pages(info, resolve_inside(root, holder)),
            message=f"would be a duplicate of {holder}, planned onto the same name" if claim else None,
            dry_run=True,
        )
    new_path = target_rel if target_rel != rel else None
    return Result(rel, "processed", new_path=new_path, tags_before=before, tags_after=after, dry_run=True)


def _mark(
    ctx: Context,
    rel: str,
    path: Path,
    status: Status,
    info: ArchiveInfo,
    *,
    error: str | None = None,
    duplicate_of: str | None = None,
) -> None:
    """Record the file's state and the fingerprint of what is on disk now, so our own write is no echo."""
    fp = fingerprint(path)
    ctx.store.mark(
        rel,
        status=status,
        size=fp.size,
        mtime_ns=fp.mtime_ns,
        inode=fp.inode,
        error=error,
        content_id=info.content_id,
        duplicate_of=duplicate_of,
        manual_edit=False,
    )
    ctx.on_change(FileChange.processed(rel) if status == Status.PROCESSED else FileChange.updated(rel))


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        name = os.path.basename(exc.filename) if exc.filename else ""
        return f"{exc.strerror}{': ' + name if name else ''}"
    return " ".join(str(exc).split()) or type(exc).__name__
