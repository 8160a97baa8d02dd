"""The running service: one object that owns the store, the event bus, the job engine and the app.

`build_service(settings)` wires the parts; `Service.start()` makes the library safe to serve
(finishes or rolls back in-place writes a crash interrupted, then scans the folder) and starts
the job workers; `serve()` runs it all under uvicorn until SIGINT/SIGTERM, then stops in order:
HTTP first, then workers (items in flight finish), then the store.

Settings may change at run time (`PUT /api/settings`): `Service.update_settings` saves them,
swaps `service.settings` and `ctx.settings` in one assignment each, and publishes
`SettingsChanged`.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import uvicorn
from fastapi import FastAPI

from comicmaintainer.config import SECRET_KEYS, ConfigError, Settings, save_config, validate_startup
from comicmaintainer.jobs.engine import JobEngine
from comicmaintainer.jobs.events import EVENT_SOURCES, EventBus, FileChanged, SettingsChanged, WatcherStatus
from comicmaintainer.jobs.model import JobSpec
from comicmaintainer.library.process import Context
from comicmaintainer.library.recovery import recover
from comicmaintainer.library.scanner import ScanReport, scan
from comicmaintainer.library.store import FileList, FileRow, Store
from comicmaintainer.reporting import install_error_reports
from comicmaintainer.watcher.pipeline_target import PipelineTarget
from comicmaintainer.watcher.service import Watcher
from comicmaintainer.watcher.service import WatcherStatus as WatcherStatusRecord
from comicmaintainer.web.api import routers
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
    started_at: float = field(default_factory=time.time)
    _settings_lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, *, scan_library: bool = True) -> None:
        """Recover interrupted writes, sync the store with the folder, start the workers and the watcher."""
        recover(self.settings.watched_dir, self.store, self.settings.journal_dir)
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
        self.engine.start()
        if isinstance(self.watcher, Watcher):
            self.watcher.set_enabled(self.settings.watcher_enabled)
            self.watcher.start()

    def stop(self) -> None:
        if isinstance(self.watcher, Watcher):
            self.watcher.stop()
        self.engine.stop()
        self.bus.close()
        self.store.close()

    def scan(self) -> ScanReport:
        return scan(self.settings.watched_dir, self.store)

    def update_settings(self, changes: dict[str, Any]) -> Settings:
        """Validate and save ``changes`` (``ConfigError`` when refused); the new settings take effect now."""
        with self._settings_lock:
            new = save_config(self.settings, **changes)
            self.settings = new
            self.ctx.settings = new
        if "watcher_enabled" in changes and hasattr(self.watcher, "set_enabled"):
            self.watcher.set_enabled(bool(changes["watcher_enabled"]))  # type: ignore[union-attr]
        # A secret (a source's key or login) goes on the bus only as "set", never as its value.
        shown = {key: "(set)" if key in SECRET_KEYS and value else value for key, value in changes.items()}
        self.bus.publish(SettingsChanged(changes=shown))
        return new


def build_service(
    settings: Settings, *, watcher: WatcherLike | None = None, workers: int | None = None, watch: bool = False
) -> Service:
    """Every part wired together; nothing runs until ``start()``. ``watch`` adds the folder watcher."""
    store = Store(settings.db_path)
    bus = EventBus()
    ctx = Context(settings=settings, store=store, source="web")
    ctx.on_change = _change_publisher(bus, store, ctx)
    engine = JobEngine(ctx, bus, workers=workers)
    app = create_app(bus, routers=[*routers(), pages_router()])
    if watch and watcher is None:
        watcher = _folder_watcher(settings, ctx, engine, bus)
    service = Service(settings, store, bus, ctx, engine, FileList(store), app, watcher)
    app.state.service = service
    return service


def _folder_watcher(settings: Settings, ctx: Context, engine: JobEngine, bus: EventBus) -> Watcher:
    """Each batch of finished files becomes one watcher job: the same pipeline, after what a person asked for.

    The job records each file's outcome (failures included), so the watcher is told of none.
    """

    def run_as_job(rel_paths: list[str]) -> dict[str, str]:
        # With metadata_auto_match, new chapters also get their series' metadata (a match item runs
        # the same pipeline first).
        kind = "match" if ctx.settings.metadata_auto_match else "process"
        spec = JobSpec(kind=kind, scope="selected", paths=tuple(rel_paths), source="watcher")
        job = engine.submit(spec)
        while engine.get(job["id"])["status"] not in ("completed", "failed", "cancelled"):
            time.sleep(0.05)  # the watcher's worker waits, so a path is never handed over twice at once
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


def _change_publisher(bus: EventBus, store: Store, ctx: Context) -> Any:
    """The pipeline's change notes become `FileChanged` events carrying the row as the list shows it."""
    from comicmaintainer.web.api.files import file_json  # the one place that shapes a File

    def publish(change: dict[str, Any]) -> None:
        path = change["path"]
        row: FileRow | None = None if change["change"] == "deleted" else store.get_file(path)
        source = ctx.source if ctx.source in EVENT_SOURCES else "web"
        bus.publish(
            FileChanged(
                path=path,
                change=change["change"],
                source=source,  # type: ignore[arg-type]
                row=file_json(row) if row is not None else None,
                old_path=change.get("old_path"),
            )
        )

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
    service = build_service(settings, watch=True)
    install_security(service.app, settings, host=host)
    service.start()
    # Objects made at start-up live for the whole run: keep them out of every full collection,
    # whose pauses otherwise show up as latency spikes on the event stream.
    gc.freeze()
    config = uvicorn.Config(
        service.app, host=host, port=port, log_config=None, timeout_graceful_shutdown=5, **server_options()
    )
    try:
        uvicorn.Server(config).run()
    finally:
        service.stop()
