"""The running service: one object that owns the store, the event bus, the job engine and the app.

`build_service(settings)` wires the parts; `Service.start()` makes the library safe to serve
(finishes or rolls back in-place writes a crash interrupted, then scans the folder) and starts
the job workers; `serve()` runs it all under uvicorn until SIGINT/SIGTERM, then stops in order:
HTTP first, then the watcher (its waiting batch is handed back to the queue), then the job workers
(items in flight finish), then the archive flushes, then the store; the process exits 0.

Settings may change at run time (`PUT /api/settings`): `Service.update_settings` saves them,
swaps `service.settings` and `ctx.settings` in one assignment each, tells the parts that hold a
setting of their own (the watcher, the log file, job retention), and publishes `SettingsChanged`.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import uvicorn
from fastapi import APIRouter, FastAPI

from comicmaintainer.archive import unflushed
from comicmaintainer.config import (
    SECRET_KEYS,
    ConfigError,
    Settings,
    restart_required,
    save_config,
    unneeded_seed_variables,
    validate_startup,
)
from comicmaintainer.integrations.hub import Integrations
from comicmaintainer.jobs.engine import JobEngine
from comicmaintainer.jobs.events import EVENT_SOURCES, EventBus, FileChanged, SettingsChanged, WatcherStatus
from comicmaintainer.jobs.model import JobSpec
from comicmaintainer.library.changes import ChangeKind, FileChange
from comicmaintainer.library.locks import LibraryPresence
from comicmaintainer.library.process import Context
from comicmaintainer.library.recovery import recover
from comicmaintainer.library.scanner import ScanReport, scan
from comicmaintainer.library.store import FileList, FileRow, JobKind, Store
from comicmaintainer.logs import apply_log_size
from comicmaintainer.reporting import install_error_reports
from comicmaintainer.watcher.pipeline_target import PipelineTarget
from comicmaintainer.watcher.service import Watcher
from comicmaintainer.watcher.service import WatcherStatus as WatcherStatusRecord
from comicmaintainer.web.api import ApiService
from comicmaintainer.web.api import files as files_api
from comicmaintainer.web.api import integrations as integrations_api
from comicmaintainer.web.api import jobs as jobs_api
from comicmaintainer.web.api import metadata as metadata_api
from comicmaintainer.web.api import seed as seed_api
from comicmaintainer.web.api import settings as settings_api
from comicmaintainer.web.api import tools as tools_api
from comicmaintainer.web.app import create_app
from comicmaintainer.web.pages import pages_router
from comicmaintainer.web.security import install_security, server_options

log = logging.getLogger(__name__)


class WatcherLike(Protocol):
    def status(self) -> Any: ...


@dataclass
class Service:
    settings: Settings
    store: Store
    bus: EventBus
    ctx: Context
    engine: JobEngine
    files: FileList
    app: FastAPI
    watcher: WatcherLike | None = None
    integrations: Integrations | None = None
    started_at: float = field(default_factory=time.time)
    _settings_lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)
    started_with: Settings | None = None  # what the running parts took at start (for restart_required)
    presence: LibraryPresence | None = None  # held from start to stop

    def start(self, *, scan_library: bool = True) -> None:
        """Recover interrupted writes, sync the store with the folder, start the workers and the watcher."""
        self.presence = LibraryPresence(self.settings.presence_lock)
        alone = self.presence.alone()
        recover(self.settings.watched_dir, self.store, self.settings.journal_dir, settle_actions=alone)
        self.presence.share()
        if scan_library:
            report = self.scan()
            log.info(
                "start-up scan: %d added, %d changed, %d moved, %d removed",
                len(report.added),
                len(report.changed),
                len(report.moved),
                len(report.removed),
            )
        # The file list's search index is built in a thread of its own, after the scan: start-up
        # does not wait for it, and new searches meanwhile are counted in SQL.
        threading.Thread(target=self.files.warm, name="file-list-index", daemon=True).start()
        if self.integrations is not None:
            self.integrations.start()
        self.engine.start()
        if isinstance(self.watcher, Watcher):
            self.watcher.set_enabled(self.settings.watcher_enabled)
            self.watcher.start()

    def stop(self) -> None:
        """Stop in order. Items not yet claimed stay queued in the store; the next start resumes them."""
        self.stopping.set()  # the watcher's worker stops waiting for its job (see _folder_watcher)
        if isinstance(self.watcher, Watcher):
            self.watcher.stop()
        self.engine.stop()
        if self.integrations is not None:
            self.integrations.stop()
        unflushed.wait_all()  # archive writes durable and their journal records cleared
        self.bus.close()
        self.store.close()
        if self.presence is not None:
            self.presence.close()

    def scan(self) -> ScanReport:
        return scan(self.settings.watched_dir, self.store)

    def update_settings(self, changes: dict[str, Any]) -> Settings:
        """Validate and save ``changes`` (``ConfigError`` when refused); each takes effect now.

        The pipeline reads ``ctx.settings`` for every file (name format, padding, CBR conversion);
        the parts that hold a setting of their own are told here. A setting marked ``live=False``
        in ``config.EDITABLE_KEYS`` is saved and listed by ``restart_required()`` instead.
        """
        with self._settings_lock:
            new = save_config(self.settings, **changes)
            self.settings = new
            self.ctx.settings = new
            self._apply_now(changes, new)  # under the lock: two changes reach the parts in order
        if self.integrations is not None:
            self.integrations.apply(new)
        self.bus.publish(SettingsChanged(changes=_shown_changes(changes)))
        return new

    def restart_required(self) -> list[str]:
        """Saved settings the running service takes only at its next start."""
        return restart_required(self.started_with or self.settings, self.settings)

    def _apply_now(self, changes: dict[str, Any], new: Settings) -> None:
        if isinstance(self.watcher, Watcher):
            if "watcher_enabled" in changes:
                self.watcher.set_enabled(new.watcher_enabled)
            observer_keys = {"quiet_period", "watcher_polling", "polling_interval"}
            if observer_keys & changes.keys():
                self.watcher.reconfigure(
                    quiet_period=new.quiet_period,
                    polling=new.watcher_polling,
                    polling_interval=new.polling_interval,
                )
        if "log_max_bytes" in changes:
            apply_log_size(new)
        if "job_retention_days" in changes:
            self.engine.purge_older_than(new.job_retention_days)


def _shown_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """The changes as every open page may see them: reader keys and notification URLs masked."""
    from comicmaintainer.integrations.secrets import mask_servers, mask_urls

    # A metadata source's key or login goes on the bus only as "set", never as its value.
    shown: dict[str, Any] = {
        key: "(set)" if key in SECRET_KEYS and value else value for key, value in changes.items()
    }
    if "reader_servers" in shown:
        shown["reader_servers"] = mask_servers(shown["reader_servers"])
    if "notify_urls" in shown:
        shown["notify_urls"] = mask_urls(shown["notify_urls"])
    return shown


def api_routers() -> list[APIRouter]:
    """The HTTP API's routers (web/api/), in the order the API docs list them."""
    return [
        files_api.router,
        jobs_api.router,
        seed_api.router,
        settings_api.router,
        tools_api.router,
        integrations_api.router,
        metadata_api.router,
    ]


def build_service(
    settings: Settings, *, watcher: WatcherLike | None = None, workers: int | None = None, watch: bool = False
) -> Service:
    """Every part wired together; nothing runs until ``start()``. ``watch`` adds the folder watcher."""
    store = Store(settings.db_path)
    bus = EventBus()
    ctx = Context(settings=settings, store=store, source="web")
    integrations = Integrations(settings, store, bus)
    ctx.on_change = _also(_change_publisher(bus, store, ctx), integrations.on_change)
    engine = JobEngine(ctx, bus, workers=workers)
    app = create_app(bus, routers=[*api_routers(), pages_router()])
    stopping = threading.Event()
    if watch and watcher is None:
        watcher = _folder_watcher(settings, ctx, engine, bus, stopping)
    service = Service(
        settings,
        store,
        bus,
        ctx,
        engine,
        FileList(store),
        app,
        watcher,
        integrations,
        stopping=stopping,
        started_with=settings,
    )
    routers_see: ApiService = service  # mypy checks that Service gives the routers what they ask
    app.state.service = routers_see
    return service


def _folder_watcher(
    settings: Settings, ctx: Context, engine: JobEngine, bus: EventBus, stopping: threading.Event
) -> Watcher:
    """Each batch of finished files becomes one watcher job: the same pipeline, after what a person asked for.

    The job records each file's outcome (failures included), so the watcher is told of none. When
    the service stops, the worker stops waiting: what the job has not reached stays queued in the
    store and the next start resumes it.
    """

    def run_as_job(rel_paths: list[str]) -> dict[str, str]:
        # With metadata_auto_match, new chapters also get their series' metadata (a match item runs
        # the same pipeline first).
        kind = JobKind.MATCH if ctx.settings.metadata_auto_match else JobKind.PROCESS
        spec = JobSpec(kind=kind, scope="selected", paths=tuple(rel_paths), source="watcher")
        job = engine.submit(spec)
        # The watcher's worker waits, so a path is never handed over twice at once.
        while engine.get(job["id"])["status"] not in ("completed", "failed", "cancelled"):
            if stopping.wait(0.05):
                break
        return {}

    def publish(status: WatcherStatusRecord) -> None:
        state = (
            "running"
            if status.enabled and status.observer_alive
            else ("off" if not status.enabled else "error")
        )
        bus.publish(WatcherStatus(state=state, detail=asdict(status)))

    return Watcher(
        settings.watched_dir,
        PipelineTarget(ctx, run_batch=run_as_job),
        quiet_period=settings.quiet_period,
        polling=settings.watcher_polling,
        polling_interval=settings.polling_interval,
        on_status=publish,
    )


def _also(first: Any, second: Any) -> Any:
    """Both callbacks for each change; the second (reader rescans) never stops the first."""

    def both(change: Any) -> None:
        first(change)
        try:
            second(change)
        except Exception:
            log.exception("reader rescan bookkeeping failed")

    return both


def _change_publisher(bus: EventBus, store: Store, ctx: Context) -> Callable[[FileChange], None]:
    """The library's change records become `FileChanged` events carrying the row as the list shows it."""

    def publish(change: FileChange) -> None:
        row: FileRow | None = None
        if change.kind not in (ChangeKind.DELETED, ChangeKind.FOLDER_RENAMED):  # a folder has no row
            row = store.get_file(change.path)
        source = ctx.source if ctx.source in EVENT_SOURCES else "web"
        bus.publish(FileChanged.of(change, source, files_api.file_json(row) if row is not None else None))  # type: ignore[arg-type]

    return publish


# A container publishes the port; inside it, every interface is the expected binding.
def serve(settings: Settings, host: str = "0.0.0.0", port: int = 5000) -> None:  # noqa: S104
    """Run the service until SIGINT/SIGTERM; a second signal stops at once.

    Raises ``ConfigError`` (one line per problem) when the folders, the port or the security
    settings cannot work, before anything starts.
    """
    problems = validate_startup(settings, port)
    if problems:
        raise ConfigError("; ".join(problems))
    install_error_reports(settings)
    for line in unneeded_seed_variables(os.environ):
        log.warning(line)
    service = build_service(settings, watch=True)
    install_security(service.app, settings, host=host)
    service.start()
    # Objects made at start-up live for the whole run: keep them out of every full collection,
    # whose pauses otherwise show up as latency spikes on the event stream.
    gc.freeze()
    config = uvicorn.Config(
        service.app, host=host, port=port, log_config=None, timeout_graceful_shutdown=5, **server_options()
    )
    with StopSignals() as signals:
        try:
            uvicorn.Server(config).run()
        finally:
            signals.stopping = True
            service.stop()


class StopSignals:
    """SIGTERM (``docker stop``) and SIGINT (Ctrl-C) both mean: stop in order, then exit 0.

    uvicorn handles both while it serves and, once it has shut down, raises each signal it caught
    again for the handler that was there before it. Left at the default, that second SIGTERM kills
    the process on the spot (status -15) before the service can stop, and SIGINT becomes a
    KeyboardInterrupt. This handler, installed first, takes the raised-again signal as the stop
    already under way. A signal that comes while the service is stopping ends the process at once,
    as the start-up recovery can settle whatever that cuts off.
    """

    def __init__(self) -> None:
        self.stopping = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame: object) -> None:
        name = signal.Signals(signum).name
        if self.stopping:
            log.warning("%s while stopping: exiting at once", name)
            os._exit(128 + signum)
        log.info("%s: stopping", name)
