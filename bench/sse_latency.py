"""Event-stream latency and fan-out against a real uvicorn on loopback.

    python bench/sse_latency.py            # full run (about 30 s)
    python bench/sse_latency.py --quick    # fewer events, for a smoke check

How it measures, so the numbers are fair:

* This process runs the real app (`create_app` + `EventBus`) under uvicorn in a thread, and a
  publisher thread that stands in for a job worker: it reads the clock and publishes a `JobItem`
  ("an item finished").
* The clients live in a separate process (multiprocessing, spawn), so they never compete with the
  server for the GIL. They are plain asyncio socket protocols that only stamp each received chunk
  with `time.monotonic_ns()` and keep it; HTTP (h11) and SSE parsing happen after the run, so the
  500th client is not delayed by parsing the other 499. Both processes read CLOCK_MONOTONIC, so
  receive minus publish is a true one-way latency.
* Latency samples are every (client, job_item event) pair.
* Garbage collection is kept out of the numbers where it is an artefact of the rig, not of serving:
  the client process (the measuring instrument, holding every chunk it received) does not collect
  while it records, since a full collection there stalls every stamp by 60-180 ms; and the server
  collects once after the 500 connections are open, so the one full collection that burst of new
  objects triggers does not land in the steady state being measured. Collections that serving
  events causes still happen and count.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import os
import socket
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import h11

STREAM = "/api/events/stream"
MARKER = b"event: settings_changed"  # each phase ends with a settings_changed event
RESYNC = b"event: resync"  # a lapped client jumps past the marker, so this ends its wait too


# ---------------------------------------------------------------- client process


@dataclass
class ClientResult:
    events: list[tuple[int, str, int]] = field(default_factory=list)  # (id, kind, received ns)
    last_job_update: dict[str, Any] | None = None
    failed_items: int = 0
    resyncs: int = 0


class StreamClient(asyncio.Protocol):
    """Keeps raw chunks with their arrival time; parsing waits until the measurement is over."""

    def __init__(self) -> None:
        self.chunks: list[tuple[int, bytes]] = []
        self.headers = asyncio.get_running_loop().create_future()
        self.marker = asyncio.get_running_loop().create_future()
        self._tail = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(f"GET {STREAM} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())

    def data_received(self, data: bytes) -> None:
        self.chunks.append((time.monotonic_ns(), data))
        window = self._tail + data
        if not self.headers.done() and b"\r\n\r\n" in window:
            self.headers.set_result(None)
        if not self.marker.done() and (MARKER in window or RESYNC in window):
            self.marker.set_result(None)
        self._tail = window[-64:]

    def parse(self) -> ClientResult:
        import json

        conn = h11.Connection(h11.CLIENT)
        conn.send(h11.Request(method="GET", target=STREAM, headers=[("Host", "bench")]))
        result, text = ClientResult(), ""
        for stamp, data in self.chunks:
            conn.receive_data(data)
            while (event := conn.next_event()) not in (h11.NEED_DATA, h11.PAUSED):
                if isinstance(event, h11.Data):
                    text += bytes(event.data).decode()
            *blocks, text = text.split("\r\n\r\n")
            for block in blocks:
                fields = dict(line.split(": ", 1) for line in block.split("\r\n") if not line.startswith(":"))
                if "id" not in fields:
                    continue
                kind = fields["event"]
                result.events.append((int(fields["id"]), kind, stamp))
                if kind == "job_updated":
                    result.last_job_update = json.loads(fields["data"])
                elif kind == "job_item" and '"outcome":"failed"' in fields["data"]:
                    result.failed_items += 1
                elif kind == "resync":
                    result.resyncs += 1
        return result


async def client_host(conn: Connection, port: int) -> None:
    loop = asyncio.get_running_loop()
    clients: list[StreamClient] = []
    while True:
        command, *args = await loop.run_in_executor(None, conn.recv)
        if command == "open":
            for _ in range(args[0]):
                _, proto = await loop.create_connection(StreamClient, "127.0.0.1", port)
                clients.append(proto)
            await asyncio.gather(*(c.headers for c in clients))
            gc.collect()
            gc.disable()  # see the module docstring; enabled again once the chunks are parsed
            conn.send("opened")
        elif command == "wait":
            done, _ = await asyncio.wait([c.marker for c in clients], timeout=args[0])
            conn.send(len(done))
        elif command == "results":
            gc.enable()
            conn.send([c.parse() for c in clients])
        elif command == "close":
            for c in clients:
                assert c.transport is not None
                c.transport.close()
            clients.clear()
            conn.send("closed")
        else:
            return


def client_process(conn: Connection, port: int) -> None:
    asyncio.run(client_host(conn, port))


class Clients:
    """The parent's handle on the client process."""

    def __init__(self, port: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=client_process, args=(child, port), daemon=True)
        self._proc.start()

    def call(self, *command: Any) -> Any:
        self._conn.send(command)
        return self._conn.recv()

    def stop(self) -> None:
        self._conn.send(("exit",))
        self._proc.join(10)


# ---------------------------------------------------------------- server process


class ServerThread:
    def __init__(self, app: Any) -> None:
        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_config=None, log_level="warning", timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        self._cpu_clock = time.pthread_getcpuclockid(self.thread.ident or 0)
        self.cpu_per_delivery: dict[int, float] = {}  # clients -> server CPU seconds per (client, event)

    def cpu_seconds(self) -> float:
        """CPU time of the server's event-loop thread: unlike latency, not inflated by other load."""
        return time.clock_gettime(self._cpu_clock)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_for(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for clients")
        time.sleep(0.01)


def percentile(values: list[float], pct: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[int(pct * 10) - 1]


def latency_phase(
    bus: Any, clients: Clients, n_clients: int, n_events: int, interval: float, server: ServerThread
) -> list[float]:
    from comicmaintainer.jobs.events import JobItem, SettingsChanged

    clients.call("open", n_clients)
    wait_for(lambda: bus.subscriber_count == n_clients)
    gc.collect()  # see the module docstring
    published: dict[int, int] = {}
    cpu_before = server.cpu_seconds()
    for n in range(n_events):
        time.sleep(interval)
        stamp = time.monotonic_ns()
        event_id = bus.publish(JobItem(1, n, f"Series/Series - Chapter {n:04}.cbz", "done"))
        published[event_id] = stamp
    bus.publish(SettingsChanged({"bench": "end"}))
    if clients.call("wait", 60.0) != n_clients:
        raise SystemExit("not every client received the end of the phase")
    server.cpu_per_delivery[n_clients] = (server.cpu_seconds() - cpu_before) / (n_events * n_clients)
    results: list[ClientResult] = clients.call("results")
    clients.call("close")
    wait_for(lambda: bus.subscriber_count == 0)
    return [
        (stamp - published[event_id]) / 1e6
        for result in results
        for event_id, kind, stamp in result.events
        if kind == "job_item" and event_id in published
    ]


@dataclass
class JobOutcome:
    expected: dict[str, Any]
    results: list[ClientResult]
    seconds: float
    rss_before: float
    rss_after: float


def run_job(bus: Any, total: int, workers: int, item_seconds: float) -> tuple[dict[str, Any], float]:
    """Simulated job: `workers` threads finish items (one per `item_seconds` each) and publish."""
    from comicmaintainer.jobs.events import FileChanged, JobItem, JobUpdated
    from comicmaintainer.library.changes import FileChange

    lock = threading.Lock()
    counts = {"next": 0, "processed": 0, "succeeded": 0, "failed": 0, "skipped": 0}

    def worker() -> None:
        while True:
            with lock:
                n = counts["next"]
                counts["next"] += 1
            if n >= total:
                return
            time.sleep(item_seconds)
            outcome = "failed" if n % 50 == 0 else "skipped" if n % 97 == 0 else "done"
            path = f"Series {n % 40}/Chapter {n:05}.cbz"
            bus.publish(JobItem(1, n, path, outcome, "not a zip archive" if outcome == "failed" else None))
            if outcome == "done":
                row = {"path": path, "status": "processed"}
                bus.publish(FileChanged.of(FileChange.processed(path), "job", row))
            with lock:
                counts["processed"] += 1
                counts["succeeded" if outcome == "done" else outcome] += 1
                snapshot = dict(counts)
            done = snapshot["processed"]
            bus.publish(
                JobUpdated(1, "running", done, total, snapshot["succeeded"], snapshot["failed"],
                           snapshot["skipped"], 100 * done / total, path, "tagging", None)
            )  # fmt: skip

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = {k: counts[k] for k in ("processed", "succeeded", "failed", "skipped")}
    bus.publish(
        JobUpdated(1, "completed", total, total, final["succeeded"], final["failed"], final["skipped"], 100.0)
    )
    return {"status": "completed", "total": total, **final}, time.monotonic() - started


def job_phase(bus: Any, clients: Clients, total: int) -> JobOutcome:
    from comicmaintainer.jobs.events import SettingsChanged

    clients.call("open", 3)
    wait_for(lambda: bus.subscriber_count == 3)
    gc.collect()
    before = rss_mb()
    expected, seconds = run_job(bus, total, workers=4, item_seconds=0.002)
    bus.publish(SettingsChanged({"bench": "end"}))
    if clients.call("wait", 120.0) != 3:
        states = [(s.lag, s.resyncs, s.buffered, s.closed) for s in bus.subscriptions()]
        raise SystemExit(f"not every job watcher received the end of the job: {states}")
    gc.collect()
    after = rss_mb()
    results: list[ClientResult] = clients.call("results")
    clients.call("close")
    return JobOutcome(expected, results, seconds, before, after)


def job_ok(outcome: JobOutcome, result: ClientResult) -> bool:
    last = result.last_job_update or {}
    return all(last.get(k) == v for k, v in outcome.expected.items()) and (
        result.failed_items == outcome.expected["failed"]
    )


def report(
    one: list[float], many: list[float], job: JobOutcome, args: argparse.Namespace, cpu: dict[int, float]
) -> None:
    p50_1, p99_1, p99_n = percentile(one, 50), percentile(one, 99), percentile(many, 99)
    right = sum(job_ok(job, r) for r in job.results)
    failed = ", ".join(f"{r.failed_items}" for r in job.results)
    growth = job.rss_after - job.rss_before
    rows = [
        ("publish → receive p50, 1 client", f"{p50_1:.2f} ms", "< 5 ms", p50_1 < 5),
        ("publish → receive p99, 1 client", f"{p99_1:.2f} ms", "< 50 ms", p99_1 < 50),
        (f"publish → receive p99, {args.clients} clients", f"{p99_n:.2f} ms", "< 100 ms", p99_n < 100),
        (f"publish → receive p50, {args.clients} clients", f"{percentile(many, 50):.2f} ms", "", True),
        (
            f"{job.expected['total']:,}-item job, 3 clients: right final counts",
            f"{right}/3",
            "3/3",
            right == 3,
        ),
        (
            "  failed items received by each client",
            f"{failed} of {job.expected['failed']}",
            "all",
            right == 3,
        ),
        ("  resyncs during the job", str(sum(r.resyncs for r in job.results)), "0", True),
        ("  job duration (4 workers)", f"{job.seconds:.1f} s", "", True),
        ("RSS after job − before", f"{growth:+.1f} MB", "< 10 MB", abs(growth) < 10),
    ]
    print(f"samples: {len(one):,} (1 client), {len(many):,} ({args.clients} clients × events)")
    # Latency is wall time on a shared machine; the CPU figure says what one fan-out costs the server.
    print(
        f"server CPU per client per event: {cpu.get(args.clients, float('nan')) * 1e6:.0f} µs "
        f"({args.clients} clients); load average at the end: {os.getloadavg()[0]:.1f}\n"
    )
    print("| measure | result | target | ok |\n| --- | --- | --- | --- |")
    for name, value, target, ok in rows:
        print(f"| {name} | {value} | {target} | {'yes' if ok else 'NO'} |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer events (smoke check)")
    parser.add_argument("--clients", type=int, default=500)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from comicmaintainer.jobs.events import EventBus
    from comicmaintainer.web.app import create_app

    bus = EventBus()
    server = ServerThread(create_app(bus))
    clients = Clients(server.port)
    try:
        one = latency_phase(bus, clients, 1, 300 if args.quick else 2000, 0.002, server)
        # Spaced so one fan-out (every client written to) ends before the next item finishes.
        many = latency_phase(bus, clients, args.clients, 30 if args.quick else 120, 0.15, server)
        job = job_phase(bus, clients, 2000 if args.quick else 10_000)
    finally:
        clients.stop()
        server.stop()
    report(one, many, job, args, server.cpu_per_delivery)


if __name__ == "__main__":
    main()
