"""Command-line front: a thin adapter over the same functions the server uses."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path

import click

from comicmaintainer import __version__
from comicmaintainer.config import ConfigError, Settings, load_settings
from comicmaintainer.domain.naming import NamingRules
from comicmaintainer.domain.plan import describe_name
from comicmaintainer.library import undo as undo_module
from comicmaintainer.library.locks import LibraryPresence
from comicmaintainer.library.preview import reconcile_preview
from comicmaintainer.library.process import Context, Result, process
from comicmaintainer.library.recovery import recover
from comicmaintainer.library.scanner import scan, walk_archives
from comicmaintainer.library.store import Store
from comicmaintainer.logs import setup_logging

EXIT_CONFIG = 2


@click.group()
@click.version_option(__version__, prog_name="comicmaintainer")
@click.option("--watched-dir", envvar="WATCHED_DIR", help="The library folder (env WATCHED_DIR).")
@click.option(
    "--config-dir", envvar="CONFIG_DIR", help="Where state lives (env CONFIG_DIR, default /Config)."
)
@click.pass_context
def main(ctx: click.Context, watched_dir: str | None, config_dir: str | None) -> None:
    """ComicMaintainer keeps a comic library tidy."""
    overrides = {"WATCHED_DIR": watched_dir, "CONFIG_DIR": config_dir}
    ctx.obj = {k: v for k, v in overrides.items() if v}


def _settings(ctx: click.Context) -> Settings:
    import os

    try:
        settings = load_settings({**os.environ, **ctx.obj})
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_CONFIG)
    setup_logging(settings)
    return settings


@contextmanager
def _context(ctx: click.Context) -> Iterator[Context]:
    settings = _settings(ctx)
    store = Store(settings.db_path)
    presence = LibraryPresence(settings.presence_lock)
    recover(settings.watched_dir, store, settings.journal_dir, settle_actions=presence.alone())
    presence.share()
    try:
        yield Context(settings=settings, store=store, source="cli")
    finally:
        store.close()
        presence.close()


@main.command("process")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Change nothing; print what would change.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file.")
@click.option("--force", is_flag=True, help="Also reopen files already processed and unchanged.")
@click.pass_context
def process_cmd(
    ctx: click.Context, paths: tuple[Path, ...], dry_run: bool, as_json: bool, force: bool
) -> None:
    """Tag, rename and set aside duplicates (default: the whole library)."""
    with _context(ctx) as pctx:
        files = sorted(_expand(pctx.settings.watched_dir, paths or (pctx.settings.watched_dir,)))
        if not dry_run:
            scan(pctx.settings.watched_dir, pctx.store)
        failed = 0
        results = _run_all(files, pctx, dry_run=dry_run, force=force, progress=not as_json)
        if dry_run:
            results = iter(reconcile_preview(sorted(results, key=lambda r: r.path), pctx))
        for result in results:
            failed += result.failed
            click.echo(json.dumps(result.to_json()) if as_json else _describe(result))
        if not as_json:
            click.echo(f"{len(files)} files, {failed} failed", err=True)
        sys.exit(1 if failed else 0)


def _expand(root: Path, paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        path = path if path.is_absolute() else Path.cwd() / path
        if path.is_dir():
            yield from (path / rel for rel, _ in walk_archives(path))
        else:
            yield path


def _run_all(
    files: list[Path], pctx: Context, *, dry_run: bool, force: bool, progress: bool
) -> Iterator[Result]:
    """Runs files concurrently (MAX_WORKERS); the per-path lock keeps two workers off one file."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    show = progress and sys.stderr.isatty()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
    )
    with (
        Progress(*columns, disable=not show, transient=True, console=Console(stderr=True)) as bar,
        ThreadPoolExecutor(max_workers=pctx.settings.max_workers) as pool,
    ):
        task = bar.add_task("processing", total=len(files), rate="")
        futures = [pool.submit(process, f, pctx, dry_run=dry_run, force=force) for f in files]
        for future in as_completed(futures):
            speed = bar.tasks[0].speed
            bar.update(task, advance=1, rate=f"{speed:.1f} files/s" if speed else "")
            yield future.result()


def _describe(r: Result) -> str:
    lines = [f"{r.outcome:<16}{r.path}"]
    if r.new_path:
        lines.append(f"  rename: {r.path} → {r.new_path}")
    for key, new in r.tags_after.items():
        old = r.tags_before.get(key)
        if new != old and key in ("series", "issue", "title", "volume", "format"):
            lines.append(f"  {key}: {old!r} → {new!r}")
    if r.duplicate_of:
        same = {True: "identical copy", False: "different version", None: "unknown"}[r.identical]
        lines.append(f"  duplicate of {r.duplicate_of} ({same})")
    if r.message:
        lines.append(f"  {r.message}")
    return "\n".join(lines)


@main.command("match")
@click.argument("series_folder")
@click.option("--source", help="Ask only this source (anilist, mangadex, mangaupdates, metron, comicvine).")
@click.option("--id", "pin", help="Pin the series to this source id or page address.")
@click.option("--kind", type=click.Choice(["manga", "comics"]), help="Remember the series' kind.")
@click.option("--clear", is_flag=True, help="Forget the series' match or pin first.")
@click.option("--dry-run", is_flag=True, help="Write nothing; print what each chapter would get.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object for the series.")
@click.pass_context
def match_cmd(ctx: click.Context, series_folder: str, source: str | None, pin: str | None,
              kind: str | None, clear: bool, dry_run: bool, as_json: bool) -> None:  # fmt: skip
    """Fill a series' chapters with metadata from AniList, MangaDex, MangaUpdates, Metron, ComicVine."""
    from comicmaintainer.metadata import commands

    with _context(ctx) as pctx:
        service = commands.MetadataService(pctx.settings, pctx.store)
        try:
            folder = commands.resolve_folder(pctx.settings, series_folder)
            if clear:
                service.clear(folder)
            if kind:
                service.set_kind(folder, kind)
            report = commands.match_folder(pctx, service, folder, source=source, pin=pin, dry_run=dry_run)
        except (commands.MatchError, commands.SourceError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        finally:
            service.close()
    chapters = report["chapters"]
    if as_json:
        click.echo(json.dumps(report, default=str))
    else:
        for item in chapters:
            click.echo(f"{item['outcome']:<10} {item['path']}  {item.get('message') or ''}".rstrip())
    if (
        any(item["outcome"] == "failed" for item in chapters)
        or (report["match"] or {}).get("status") == "needs_match"
    ):
        sys.exit(1)


@main.command("scan")
@click.pass_context
def scan_cmd(ctx: click.Context) -> None:
    """Sync the database with the folder and print the counts."""
    with _context(ctx) as pctx:
        report = scan(pctx.settings.watched_dir, pctx.store)
        c = report.counts
        click.echo(
            f"processed {c.get('processed', 0)}, unprocessed {c.get('unprocessed', 0)}, "
            f"duplicate {c.get('duplicate', 0)}, needs attention {c.get('needs_attention', 0)} "
            f"(added {len(report.added)}, changed {len(report.changed)}, moved {len(report.moved)}, "
            f"removed {len(report.removed)})"
        )


@main.command("check")
@click.option("--json", "as_json", is_flag=True, help="The whole report as one JSON object.")
@click.pass_context
def check_cmd(ctx: click.Context, as_json: bool) -> None:
    """List, per folder, what would make a reader server split or misorder a series (exit 1 if any)."""
    from comicmaintainer.library.consistency import check_library

    with _context(ctx) as pctx:
        scan(pctx.settings.watched_dir, pctx.store)
        report = check_library(pctx.settings.watched_dir, pctx.store)
    if as_json:
        click.echo(json.dumps(report.to_json()))
    else:
        for finding in report.findings:
            fix = f"  [fix: {finding.fix['action']}]" if finding.fix else ""
            click.echo(f"{finding.folder or '(library root)'}: {finding.kind}: {finding.message}{fix}")
        click.echo(
            f"{report.files} files in {report.folders} folders, {len(report.findings)} findings", err=True
        )
    sys.exit(1 if report.findings else 0)


@main.command("parse-name")
@click.argument("name")
@click.option("--folder", help="The series folder the file sits in.")
@click.option("--json", "as_json", is_flag=True)
@click.option("--padding", default=4, show_default=True, type=click.IntRange(0, 10))
def parse_name_cmd(name: str, folder: str | None, as_json: bool, padding: int) -> None:
    """Show what the name rules make of a file name: its kind of book, numbers and title."""
    fields = describe_name(name, folder, NamingRules(padding=padding))
    if as_json:
        click.echo(json.dumps(fields))
    else:
        for key, value in fields.items():
            click.echo(f"{key:<14}{value if value is not None else '-'}")


@main.command("history")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@click.pass_context
def history_cmd(ctx: click.Context, limit: int) -> None:
    """What was changed, newest first."""
    import time

    with _context(ctx) as pctx:
        for a in pctx.store.list_actions(limit):
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(a.at))
            change = a.old_path if a.old_path == a.new_path else f"{a.old_path} → {a.new_path}"
            click.echo(f"{a.id:>6}  {when}  {a.kind:<10} {a.state:<11} {change}")


@main.command("undo")
@click.argument("action_id", type=int)
@click.pass_context
def undo_cmd(ctx: click.Context, action_id: int) -> None:
    """Put a file's name and tags back as they were before an action."""
    with _context(ctx) as pctx:
        try:
            message = undo_module.undo(action_id, pctx)
        except undo_module.UndoError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        click.echo(message)


@main.command("watch")
@click.pass_context
def watch_cmd(ctx: click.Context) -> None:
    """Watch the library in the foreground and process every archive that lands in it."""
    import signal
    import threading

    from comicmaintainer.watcher.pipeline_target import PipelineTarget
    from comicmaintainer.watcher.service import Watcher, WatcherStatus

    def show(status: WatcherStatus) -> None:
        state = "watching" if status.enabled and status.observer_alive else "NOT watching"
        line = (
            f"{state} {pctx.settings.watched_dir}: {status.pending} pending, {status.processed} processed, "
            f"{status.failed} failed" + (f" — {status.last_error}" if status.last_error else "")
        )
        click.echo(f"\r\x1b[2K{line}" if sys.stderr.isatty() else line, nl=not sys.stderr.isatty(), err=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with _context(ctx) as pctx:
        s = pctx.settings
        watcher = Watcher(
            s.watched_dir,
            PipelineTarget(pctx),
            quiet_period=s.quiet_period,
            polling=s.watcher_polling,
            polling_interval=s.polling_interval,
            on_status=show,
        )
        watcher.start()
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            watcher.stop()


@main.command("serve")
@click.option("--host", envvar="HOST", default="0.0.0.0", show_default=True, help="Interface (env HOST).")  # noqa: S104
@click.option(
    "--port",
    envvar="WEB_PORT",
    default=5000,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port (env WEB_PORT).",
)
@click.pass_context
def serve_cmd(ctx: click.Context, host: str, port: int) -> None:
    """Run the web service: HTTP API, live events and job workers, until Ctrl-C or SIGTERM."""
    from comicmaintainer.web.service import serve

    try:
        serve(_settings(ctx), host=host, port=port)
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_CONFIG)


if __name__ == "__main__":  # pragma: no cover
    main()
