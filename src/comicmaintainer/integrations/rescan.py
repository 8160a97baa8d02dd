"""After changes settle, each affected library of each reader server is asked to rescan once.

`Rescanner.note` only adds paths to a set under a lock, so the pipeline never waits. The
rescanner's thread waits until no change has come for ``debounce`` seconds (or, for a library
that never stops changing, ``MAX_WAIT`` seconds after the first change), then hands the
whole batch to every server's `ServerWorker`. Each worker has its own thread: it maps the files to
its libraries, sends one request per library, and when the server is down or refuses the key it
keeps the batch, merges later changes into it, and tries again with a doubling back-off. So a
burst of 1,000 changes is one request per server library, and a server that comes back gets one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from comicmaintainer.integrations.mapping import library_folders, series_folders, targets, to_remote
from comicmaintainer.integrations.readers import ReaderClient, ReaderError, RefusedKey, client_for

log = logging.getLogger("comicmaintainer.readers")

MAX_WAIT = 600.0  # a library that never pauses still gets a scan this often (one long job fits)
ClientFactory = Callable[[dict[str, Any]], ReaderClient]


class ServerWorker:
    """One server's pending files, its thread and its state (what the page shows)."""

    def __init__(
        self, server: dict[str, Any], local_root: str, *, make_client: ClientFactory,
        retry_base: float, retry_cap: float,
    ) -> None:  # fmt: skip
        self.server = server
        self._root = local_root
        self._make_client = make_client
        self._retry_base, self._retry_cap = retry_base, retry_cap
        self._cond = threading.Condition()
        self._pending: set[str] = set()
        self._busy = False
        self._retry_at: float | None = None
        self._failures = 0
        self._stopping = False
        self._state: dict[str, Any] = {"state": "idle", "message": "", "scans_sent": 0, "last_scan_at": None}
        self._thread = threading.Thread(target=self._loop, name=f"reader-{server['name']}", daemon=True)
        self._thread.start()

    def add(self, paths: Iterable[str]) -> None:
        with self._cond:
            self._pending.update(paths)
            self._cond.notify_all()

    def take_pending(self) -> set[str]:
        with self._cond:
            return set(self._pending)

    def stop(self, wait: bool = True) -> None:
        """Ends the thread after the request in flight, if any (``wait``: until then)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if wait:
            self._thread.join(timeout=15)

    def idle(self) -> bool:
        """Nothing to send and nothing being sent (a server that is down is not idle)."""
        with self._cond:
            return not self._pending and not self._busy

    def state(self) -> dict[str, Any]:
        with self._cond:
            retry_in = None if self._retry_at is None else max(0.0, self._retry_at - time.monotonic())
            return {
                "name": self.server["name"], "kind": self.server["kind"], **self._state,
                "pending_files": len(self._pending), "retry_in": retry_in,
            }  # fmt: skip

    def _loop(self) -> None:
        client = self._make_client(self.server)
        try:
            while True:
                batch = self._next_batch()
                if batch is None:
                    return
                self._send_all(client, batch)
        finally:
            client.close()

    def _next_batch(self) -> set[str] | None:
        with self._cond:
            while not self._stopping:
                now = time.monotonic()
                if self._pending and (self._retry_at is None or now >= self._retry_at):
                    batch, self._pending, self._busy = self._pending, set(), True
                    return batch
                self._cond.wait(None if self._retry_at is None or not self._pending else self._retry_at - now)
            return None

    def _send_all(self, client: ReaderClient, batch: set[str]) -> None:
        left = set(batch)
        try:
            sent = self._send(client, left)
        except ReaderError as exc:
            self._failed(exc, left)
            return
        with self._cond:
            self._busy, self._failures, self._retry_at = False, 0, None
            self._state.update(state="ok", message=f"asked {sent} library scan(s)", last_scan_at=time.time())
            self._cond.notify_all()

    def _send(self, client: ReaderClient, left: set[str]) -> int:
        """Sends one request per library; ``left`` keeps the files of libraries not yet sent."""
        listed = None if self.server["libraries"] else client.libraries()
        by_library, unmapped = targets(left, library_folders(self.server, listed, self._root))
        if unmapped:
            log.info("%s: %d changed file(s) are in no library of this server", client.name, len(unmapped))
        left -= unmapped
        for library_id in sorted(by_library):
            paths = by_library[library_id]
            folders = series_folders(paths)
            if self.server["kind"] == "kavita" and len(folders) == 1 and folders != {""}:
                client.scan_folder(library_id, to_remote(folders.pop(), self.server, self._root))
            else:
                client.scan_library(library_id)
            left -= paths
            with self._cond:
                self._state["scans_sent"] += 1
        return len(by_library)

    def _failed(self, exc: ReaderError, left: set[str]) -> None:
        with self._cond:
            self._pending |= left
            self._failures += 1
            delay = min(self._retry_cap, self._retry_base * 2 ** (self._failures - 1))
            self._retry_at = time.monotonic() + delay
            self._busy = False
            self._state.update(state="refused" if isinstance(exc, RefusedKey) else "down", message=str(exc))
            self._cond.notify_all()
        log.warning("%s; trying again in %.0f s", exc, delay)


class Rescanner:
    """Debounces library changes and fans each settled batch out to the server workers."""

    def __init__(
        self, local_root: str, *, make_client: ClientFactory = client_for, retry_base: float = 2.0,
        retry_cap: float = 300.0,
    ) -> None:  # fmt: skip
        self._root = local_root
        self._make_client = make_client
        self._retry = (retry_base, retry_cap)
        self._cond = threading.Condition()
        self._pending: set[str] = set()
        self._first: float | None = None
        self._last = 0.0
        self._debounce = 30.0
        self._workers: dict[str, ServerWorker] = {}
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="reader-rescans", daemon=True)
        self._thread.start()

    def configure(self, servers: Iterable[dict[str, Any]], debounce: float) -> None:
        """New settings: a worker per enabled server; files a replaced worker still held carry over."""
        wanted = [s for s in servers if s.get("enabled", True)]
        with self._cond:
            old, self._workers = self._workers, {}
            self._debounce = debounce
        carried = {name: w.take_pending() for name, w in old.items()}
        for worker in old.values():
            worker.stop(wait=False)  # a settings save never waits on a slow server
        workers = {}
        for server in wanted:
            retry_base, retry_cap = self._retry
            worker = ServerWorker(
                server, self._root, make_client=self._make_client, retry_base=retry_base, retry_cap=retry_cap
            )
            worker.add(carried.get(server["name"], ()))
            workers[server["name"]] = worker
        with self._cond:
            self._workers = workers
            self._cond.notify_all()

    def note(self, paths: Iterable[str]) -> None:
        """Changed library files (relative paths). Cheap and never blocks on a server."""
        now = time.monotonic()
        with self._cond:
            if not self._workers:
                return
            self._pending.update(paths)
            self._first = self._first or now
            self._last = now
            self._cond.notify_all()

    def states(self) -> list[dict[str, Any]]:
        with self._cond:
            workers = list(self._workers.values())
        return [w.state() for w in workers]

    def wait_idle(self, timeout: float) -> bool:
        """True once no change waits and every server has sent all it had (for tests and shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cond:
                workers = list(self._workers.values())
                quiet = not self._pending
            if quiet and all(w.idle() for w in workers):
                return True
            with self._cond:
                self._cond.wait(0.02)  # a poll bound, not a proof: the caller asserts on what arrived
        return False

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            workers = list(self._workers.values())
            self._cond.notify_all()
        self._thread.join(timeout=5)
        for worker in workers:
            worker.stop()

    def _loop(self) -> None:
        while True:
            with self._cond:
                batch = self._wait_for_batch()
                if batch is None:
                    return
                # Handed over under the lock, so wait_idle never sees the batch in neither place.
                for worker in self._workers.values():
                    worker.add(batch)

    def _wait_for_batch(self) -> set[str] | None:
        while not self._stopping:
            if self._pending and self._first is not None:
                now = time.monotonic()
                due = min(self._last + self._debounce, self._first + max(MAX_WAIT, self._debounce))
                if now >= due:
                    batch, self._pending, self._first = self._pending, set(), None
                    return batch
                self._cond.wait(due - now)
            else:
                self._cond.wait()
        return None


def check_connection(
    server: dict[str, Any], local_root: str, make_client: ClientFactory = client_for
) -> dict[str, Any]:
    """Log in, list the libraries and say which folder here each one holds (the page's "Test")."""
    client = make_client(server)
    try:
        listed = client.libraries()
    except ReaderError as exc:
        return {"ok": False, "refused": isinstance(exc, RefusedKey), "message": str(exc), "libraries": []}
    finally:
        client.close()
    mapped = dict(library_folders(server, listed, local_root))
    libraries = [
        {"id": lib.id, "name": lib.name, "paths": list(lib.paths), "folder": mapped.get(lib.id)}
        for lib in listed
    ]
    found = sum(lib["folder"] is not None for lib in libraries)
    message = (
        f"connected: {len(libraries)} librar{'y' if len(libraries) == 1 else 'ies'}, {found} mapped here"
    )
    return {"ok": True, "refused": False, "message": message, "libraries": libraries}
