"""The watchdog observer behind the watcher, kept alive and of the kind the settings ask for.

Owned by the watcher's scheduler thread: it starts the observer, tells whether it (and every
emitter under it) is still alive, restarts a dead one with back-off, and swaps it for the other
kind (inotify ↔ polling) or another polling interval when the settings change at run time.
Other threads only ask ``healthy()``.
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

log = logging.getLogger(__name__)

MAX_BACKOFF = 60.0


def explain_observer_error(exc: BaseException, root: Path) -> str:
    """One plain line saying why watching failed and, when we know, what to do about it."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return (
            f"cannot watch {root}: the inotify watch limit is reached (one watch per folder). "
            "Raise it, e.g. `sysctl -w fs.inotify.max_user_watches=524288` (and persist it in "
            "/etc/sysctl.d/), or set WATCHER_POLLING=true"
        )
    if isinstance(exc, OSError) and exc.errno == errno.EMFILE:
        return (
            f"cannot watch {root}: the inotify instance limit is reached. Raise it with "
            "`sysctl -w fs.inotify.max_user_instances=1024`, or set WATCHER_POLLING=true"
        )
    if not root.is_dir():
        return f"cannot watch {root}: the folder is missing (unmounted?); retrying"
    return f"cannot watch {root}: {exc}"


class ObserverKeeper:
    """One observer of ``root`` at a time; ``on_error`` hears each problem as one plain line."""

    def __init__(
        self,
        root: Path,
        handler: Callable[[], FileSystemEventHandler],
        on_error: Callable[[str], None],
        *,
        polling: bool,
        polling_interval: float,
    ) -> None:
        self.root = root
        self.polling = polling
        self.polling_interval = polling_interval
        self._handler = handler
        self._on_error = on_error
        self._lock = threading.Lock()
        self._observer: BaseObserver | None = None
        self._next_start = 0.0
        self._backoff = 1.0

    def healthy(self) -> bool:
        with self._lock:
            obs = self._observer
        if obs is None or not obs.is_alive():
            return False
        return all(emitter.is_alive() for emitter in obs.emitters) and self.root.is_dir()

    def supervise(self) -> bool:
        """Restart a dead observer, with back-off; True when it was restarted just now."""
        if self.healthy():
            return False
        if self._observer is not None:
            self._on_error(f"stopped watching {self.root} (folder unmounted or removed?); restarting")
            log.error("observer for %s died; restarting", self.root)
            self.stop()
            self._next_start = time.monotonic()
        return time.monotonic() >= self._next_start and self.start(initial=False)

    def reconfigure(self, *, polling: bool, polling_interval: float) -> bool:
        """Swap the observer for one of the asked kind; True when one was swapped (the caller catches up)."""
        if (polling, polling_interval) == (self.polling, self.polling_interval):
            return False
        self.polling, self.polling_interval = polling, polling_interval
        how = f"polling every {polling_interval:g} s" if polling else "inotify"
        log.info("watching %s by %s", self.root, how)
        self.stop()
        self._backoff = 1.0
        self.start(initial=True)
        return True

    def start(self, *, initial: bool) -> bool:
        observer: BaseObserver = (
            PollingObserver(timeout=self.polling_interval) if self.polling else Observer()
        )
        try:
            if not self.root.is_dir():
                raise FileNotFoundError(errno.ENOENT, "folder missing", str(self.root))
            observer.schedule(self._handler(), str(self.root), recursive=True)
            observer.start()
        except OSError as exc:
            message = explain_observer_error(exc, self.root)
            self._on_error(message)
            log.error("%s (next try in %.0f s)", message, self._backoff)
            self._next_start = time.monotonic() + self._backoff
            self._backoff = min(self._backoff * 2, MAX_BACKOFF)
            with self._lock:
                self._observer = None
            return False
        if not initial:
            log.warning("watching %s again", self.root)
        self._backoff = 1.0
        with self._lock:
            self._observer = observer
        return True

    def stop(self) -> None:
        with self._lock:
            observer, self._observer = self._observer, None
        if observer is None:
            return
        try:
            observer.stop()
            observer.join(timeout=5)
        except Exception:  # a half-dead observer may fail to stop; we drop it either way
            log.debug("error while stopping the observer", exc_info=True)
