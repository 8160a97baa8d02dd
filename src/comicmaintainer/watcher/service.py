"""The watcher service: filesystem events in, finished files out to ``target.process_batch``.

Threads and who owns what:

- watchdog's observer (inotify, or polling for network shares) turns kernel events into
  records (``handler.py``) and puts them on a queue; nothing else happens on its thread;
- one scheduler thread drains the queue, folds each batch into a plan (``fold.py``), applies the
  row moves and deletions at once, tracks candidates until they are quiet (``stability.py``),
  supervises the observer, and hands finished files to a small worker pool;
- the files that became quiet in one tick go to a worker together (up to ``HAND_OVER_BATCH``), so
  a burst of arrivals is one batch (in the server: one watcher job) rather than one per file;
- the workers compare each file's fingerprint with the one recorded after our own last write
  (equal: our own write, or nothing changed: skip) and call ``target.process_batch`` with the rest.
  A path is never in two workers at once; the pipeline's per-path lock also guards against the
  CLI and web jobs.

Nothing is lost while the watcher cannot see: at start, when it is switched back on, and after
the observer had to be restarted, ``target.catch_up()`` reconciles the store with the folder.

Polling (``polling=True``): inotify only hears changes made through this machine's kernel. When
the library is a network share (NFS, SMB/CIFS) written by other machines, or a FUSE/bind mount
that does not forward inotify events (some Docker Desktop setups), switch to polling: every
``polling_interval`` seconds the tree is listed and compared, which costs a walk of the library
per interval but sees every change wherever it came from.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from comicmaintainer.watcher.events import Event
from comicmaintainer.watcher.fold import Plan, fold, is_comic, is_under, reparent
from comicmaintainer.watcher.handler import RecordingHandler
from comicmaintainer.watcher.observer import ObserverKeeper, explain_observer_error
from comicmaintainer.watcher.stability import (
    Fingerprint,
    StabilityTracker,
    fingerprint_of,
    opens_as_archive,
    signature_of,
)

log = logging.getLogger(__name__)

BATCH_LIMIT = 50_000  # fold at least this often during a storm, so memory stays bounded
HAND_OVER_BATCH = 500  # files handed to one worker at most (one watcher job in the server)


def process_each(process_one: Callable[[str], object], rel_paths: list[str]) -> dict[str, str]:
    """``process_batch`` one file at a time: a failure is noted and logged, the others still run."""
    failures = {}
    for rel in rel_paths:
        try:
            process_one(rel)
        except Exception as exc:
            log.exception("processing %s failed", rel)
            failures[rel] = str(exc) or type(exc).__name__
    return failures


class WatchTarget(Protocol):
    """What the watcher needs from the rest of the program. Paths are relative POSIX strings."""

    def known_fingerprint(self, rel_path: str) -> tuple[int, int, int] | None:
        """(size, mtime_ns, inode) recorded after our own last write or check, or None."""
        ...

    def process_batch(self, rel_paths: list[str]) -> dict[str, str]:
        """Run the pipeline on these files (blocking): {path: error} for those that failed."""
        ...

    def forget(self, rel_path: str) -> None:
        """The file was deleted: drop its row and markers (no-op if there is none)."""
        ...

    def move(self, old_rel: str, new_rel: str) -> None:
        """Renamed outside: move the row (replacing any row at new_rel); no-op if old has none."""
        ...

    def move_folder(self, old_rel: str, new_rel: str) -> None:
        """A folder was renamed: move every row beneath old_rel."""
        ...

    def catch_up(self) -> list[str]:
        """Reconcile the store with the folder; return the paths needing processing."""
        ...

    def unreadable(self, rel_path: str) -> None:
        """A quiet file that does not open as an archive: say so where a person looks (never touch it)."""
        ...


@dataclass(frozen=True, slots=True)
class WatcherStatus:
    running: bool
    enabled: bool
    polling: bool
    observer_alive: bool
    pending: int  # waiting to be quiet, or queued for / in a worker
    processed: int
    skipped: int  # our own writes and unchanged files
    failed: int
    observer_restarts: int
    last_error: str | None


class _CatchUp:
    """Queue marker: run the catch-up scan in the scheduler thread."""


@dataclass(frozen=True)
class _Reconfigure:
    """Queue marker: new settings, applied in the scheduler thread (which owns the tracker and observer)."""

    quiet_period: float | None = None
    polling: bool | None = None
    polling_interval: float | None = None


class Watcher:
    """Watch ``root`` and hand every finished archive to ``target.process`` once."""

    def __init__(
        self,
        root: Path,
        target: WatchTarget,
        *,
        quiet_period: float = 5.0,
        polling: bool = False,
        polling_interval: float = 10.0,
        on_status: Callable[[WatcherStatus], None] | None = None,
        workers: int = 2,
    ) -> None:
        self.root = Path(os.path.realpath(root))
        self.target = target
        self._on_status = on_status
        self._tick = _tick_for(quiet_period)
        self._tracker = StabilityTracker(quiet_period)
        self._queue: queue.SimpleQueue[Event | _CatchUp | _Reconfigure | None] = queue.SimpleQueue()
        self._keeper = ObserverKeeper(
            self.root,
            lambda: RecordingHandler(self.root, self._queue.put, self._is_enabled),
            self._record_error,
            polling=polling,
            polling_interval=polling_interval,
        )
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()
        self._enabled = True
        self._counts = {"processed": 0, "skipped": 0, "failed": 0, "restarts": 0}
        self._last_error: str | None = None
        self._last_status: WatcherStatus | None = None

    # -- public API ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start watching (observer, catch-up scan, workers); returns at once."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="watcher-worker")
        self._keeper.start(initial=True)
        self._queue.put(_CatchUp())
        self._thread = threading.Thread(target=self._run, name="watcher-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching; lets a file already in the pipeline finish, drops what was waiting."""
        if self._thread is None:
            return
        self._stopping.set()
        self._queue.put(None)
        self._thread.join()
        self._thread = None
        self._keeper.stop()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._publish_status(force=True)

    def set_enabled(self, enabled: bool) -> None:
        """Switch at run time. Off: events are dropped. Back on: a catch-up scan finds what was missed."""
        with self._lock:
            was, self._enabled = self._enabled, enabled
        if enabled and not was:
            log.info("watcher enabled: catching up with changes made while it was off")
            self._queue.put(_CatchUp())
        elif was and not enabled:
            log.info("watcher disabled: changes are picked up when it is enabled again")
        self._queue.put(None)  # wake the scheduler so the status updates promptly

    def reconfigure(
        self,
        *,
        quiet_period: float | None = None,
        polling: bool | None = None,
        polling_interval: float | None = None,
    ) -> None:
        """Settings changed at run time: a new quiet period counts for files already waiting too;
        a new observer kind or polling interval swaps the observer, then a catch-up scan runs."""
        self._queue.put(_Reconfigure(quiet_period, polling, polling_interval))

    def status(self) -> WatcherStatus:
        with self._lock:
            return WatcherStatus(
                running=self._thread is not None,
                enabled=self._enabled,
                polling=self._keeper.polling,
                observer_alive=self._keeper.healthy(),
                pending=len(self._tracker) + len(self._in_flight),
                processed=self._counts["processed"],
                skipped=self._counts["skipped"],
                failed=self._counts["failed"],
                observer_restarts=self._counts["restarts"],
                last_error=self._last_error,
            )

    # -- scheduler thread ------------------------------------------------------------------------

    def _run(self) -> None:
        next_poll = 0.0
        while not self._stopping.is_set():
            batch, catch_up, changes = self._drain()
            if self._stopping.is_set():
                break
            for change in changes:
                catch_up |= self._reconfigure(change)
            if not self._is_enabled():
                self._tracker = StabilityTracker(self._tracker.quiet_period)
            else:
                if batch:
                    self._apply(fold(batch))
                if catch_up:
                    self._catch_up()
            now = time.monotonic()
            if now >= next_poll:
                next_poll = now + self._tick
                self._supervise()
                if self._is_enabled():
                    self._hand_over(self._tracker.poll(self._probe))
            self._publish_status()

    def _drain(self) -> tuple[list[Event], bool, list[_Reconfigure]]:
        """Everything queued now (waiting up to one tick for the first item)."""
        batch: list[Event] = []
        catch_up = False
        changes: list[_Reconfigure] = []
        try:
            item = self._queue.get(timeout=self._tick)
            while True:
                if isinstance(item, _CatchUp):
                    catch_up = True
                elif isinstance(item, _Reconfigure):
                    changes.append(item)
                elif item is not None:
                    batch.append(item)
                if len(batch) >= BATCH_LIMIT:
                    break
                item = self._queue.get_nowait()
        except queue.Empty:
            pass
        return batch, catch_up, changes

    def _reconfigure(self, change: _Reconfigure) -> bool:
        """Apply new settings; True when the observer was swapped and a catch-up scan is due."""
        if change.quiet_period is not None:
            self._tracker.quiet_period = change.quiet_period
            self._tick = _tick_for(change.quiet_period)
        if change.polling is None and change.polling_interval is None:
            return False
        return self._keeper.reconfigure(
            polling=self._keeper.polling if change.polling is None else change.polling,
            polling_interval=change.polling_interval or self._keeper.polling_interval,
        )

    def _apply(self, plan: Plan) -> None:
        """Carry out a plan in its documented order: forget, folder moves, moves, then checks."""
        for rel in sorted(plan.to_forget):
            self._tracker.discard(rel)
            self._call(self.target.forget, rel)
        for old, new in plan.folder_moves:
            self._follow_folder(old, new)
            self._call(self.target.move_folder, old, new)
        for old, new in plan.moves:
            if old in self._tracker:  # still settling: keep waiting under its new name
                self._tracker.discard(old)
                self._tracker.add(new)
            self._call(self.target.move, old, new)
        if plan.rescan:
            self._catch_up()
        for folder in sorted(plan.scan_folders):
            self._add_candidates(self._walk(folder))
        self._add_candidates(plan.to_check)

    def _follow_folder(self, old: str, new: str) -> None:
        """Candidates still settling follow their folder when a later batch renames it."""
        for rel in self._tracker:
            if is_under(rel, old):
                self._tracker.discard(rel)
                self._tracker.add(reparent(rel, old, new))

    def _catch_up(self) -> None:
        try:
            paths = self.target.catch_up()
        except Exception as exc:
            self._record_error(f"catch-up scan failed: {exc}")
            log.exception("catch-up scan failed")
            return
        self._add_candidates(p for p in paths if is_comic(p))

    def _add_candidates(self, paths: Iterable[str]) -> None:
        for rel in paths:
            self._tracker.add(rel)

    def _walk(self, folder: str) -> list[str]:
        """Every archive beneath a folder that appeared with content."""
        found: list[str] = []
        base = self.root / folder
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            rel_dir = Path(dirpath).relative_to(self.root).as_posix()
            prefix = "" if rel_dir == "." else rel_dir + "/"
            found.extend(prefix + name for name in filenames if is_comic(prefix + name))
        return found

    def _probe(self, rel: str) -> tuple[int, int] | None:
        return signature_of(self.root / rel)

    def _hand_over(self, ready: list[str]) -> None:
        """Quiet candidates that open as archives go to the workers in batches, one worker per path."""
        batch = []
        for rel in ready:
            with self._lock:
                busy = rel in self._in_flight
            if busy:
                continue  # stays tracked; handed over once the running job for it is done
            if not opens_as_archive(self.root / rel):
                log.warning("%s is not a readable archive yet; waiting for it to change", rel)
                self._tracker.hold(rel)
                self._call(self.target.unreadable, rel)
                continue
            self._tracker.discard(rel)
            with self._lock:
                self._in_flight.add(rel)
            batch.append(rel)
        assert self._pool is not None
        for start in range(0, len(batch), HAND_OVER_BATCH):
            self._pool.submit(self._work, batch[start : start + HAND_OVER_BATCH])

    # -- workers ---------------------------------------------------------------------------------

    def _work(self, rels: list[str]) -> None:
        todo: list[str] = []
        try:
            for rel in rels:
                current = fingerprint_of(self.root / rel)
                if current is None or self._is_echo(rel, current):
                    self._count("skipped")
                else:
                    todo.append(rel)
            failures = self.target.process_batch(todo) if todo else {}
            self._count("processed", len(todo) - len(failures))
            for rel, message in failures.items():
                self._count("failed")
                self._record_error(f"processing {rel} failed: {message}")
        except Exception as exc:  # outside the per-file handling (the store, a bug): the batch failed
            self._count("failed", len(todo) or len(rels))
            self._record_error(f"processing {len(rels)} file(s) failed: {exc}")
            log.exception("processing %d file(s) failed", len(rels))
        finally:
            with self._lock:
                self._in_flight.difference_update(rels)

    def _is_echo(self, rel: str, current: Fingerprint) -> bool:
        known = self.target.known_fingerprint(rel)
        return known is not None and tuple(known) == current

    # -- observer supervision (observer.py) ----------------------------------------------------

    def _supervise(self) -> None:
        """Restart a dead observer with back-off; catch up on what it may have missed."""
        if self._keeper.supervise():
            self._count("restarts")
            self._catch_up()

    # -- small shared helpers --------------------------------------------------------------------

    def _is_enabled(self) -> bool:
        return self._enabled

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._counts[key] += n

    def _record_error(self, message: str) -> None:
        with self._lock:
            self._last_error = message

    def _call(self, fn: Callable[..., None], *args: str) -> None:
        """Row bookkeeping errors are logged and counted; they never stop the watcher."""
        try:
            fn(*args)
        except Exception as exc:
            self._count("failed")
            self._record_error(f"{fn.__name__}{args} failed: {exc}")
            log.exception("%s%s failed", fn.__name__, args)

    def _publish_status(self, *, force: bool = False) -> None:
        if self._on_status is None:
            return
        current = self.status()
        if force or current != self._last_status:
            self._last_status = current
            try:
                self._on_status(current)
            except Exception:
                log.exception("status callback failed")


def _tick_for(quiet_period: float) -> float:
    """How often the scheduler looks at its candidates: a fifth of the quiet period, 50–500 ms."""
    return min(0.5, max(0.05, quiet_period / 5))


__all__ = ["Watcher", "WatcherStatus", "WatchTarget", "explain_observer_error"]
