"""How fast the page is with a big library, measured in a real browser (Debian's Chromium).

    python bench/page_speed.py [--files 100000] [--rounds 5]

The store is filled with `--files` rows (folders of 100, every status represented) and the real
service is started on loopback without a start-up scan, so the rows stand for files that are not on
disk: the page's speed is what is measured, not the disk's. Then, in the browser:

* first screen: from navigation start to the list drawn with every control bound (`readyAt`);
* next page, filter change, search (Enter, no debounce), sort by size, then its last page: from
  the click to the next frame after the new list is drawn.

Then a synthetic job of `--stream-items` items (default 10,000) is published on the bus while the
page watches it: the tab's busy share, JS heap and DOM node count before and after show whether
CPU or memory climbs with the job's size.

Targets from the issue: first screen < 1000 ms, page and filter changes < 200 ms. Exit status 1
when a median misses its target.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from comicmaintainer.config import Settings
from comicmaintainer.jobs.events import EventBus, JobItem, JobUpdated
from comicmaintainer.library.store import FileRow, Status, Store
from comicmaintainer.web import pages
from comicmaintainer.web.service import build_service

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
STATUSES = (Status.PROCESSED, Status.PROCESSED, Status.UNPROCESSED, Status.DUPLICATE, Status.NEEDS_ATTENTION)
TARGETS_MS = {
    "first screen": 1000,
    "next page": 200,
    "filter": 200,
    "search": 200,
    "sort": 200,
    "last page": 200,
}

# Clicks `selector` and resolves after the list it triggers is drawn and the next frame has run.
TIMED_CLICK = """async (selector) => {
    const t0 = performance.now();
    const button = document.querySelector(selector);
    if (button.disabled) throw new Error(`${selector} is disabled`);
    const drawn = new Promise(r => document.addEventListener('cm:loaded', r, {once: true}));
    button.click();
    await drawn;
    await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
    return performance.now() - t0;
}"""
TIMED_SORT = """async (value) => {
    const select = document.querySelector('#sort');
    const t0 = performance.now();
    const drawn = new Promise(r => document.addEventListener('cm:loaded', r, {once: true}));
    select.value = value;
    select.dispatchEvent(new Event('change', {bubbles: true}));
    await drawn;
    await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
    return performance.now() - t0;
}"""
TIMED_SEARCH = """async (text) => {
    const box = document.querySelector('#search');
    const t0 = performance.now();
    const drawn = new Promise(r => document.addEventListener('cm:loaded', r, {once: true}));
    box.value = text;
    box.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true}));
    await drawn;
    await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
    return performance.now() - t0;
}"""


def fill_store(db_path: Path, count: int) -> None:
    now = time.time_ns()
    rows = (
        FileRow(
            path=f"Series {i // 100:05d}/Series {i // 100:05d} - Chapter {i % 100:04d}.cbz",
            size=20_000_000 + i,
            mtime_ns=now - i * 1_000_000_000,
            inode=i + 1,
            status=STATUSES[i % len(STATUSES)],
            error="damaged archive" if STATUSES[i % len(STATUSES)] is Status.NEEDS_ATTENTION else None,
        )
        for i in range(count)
    )
    with Store(db_path) as store:
        store.bulk_upsert(rows)


def start_server(app: Any) -> tuple[uvicorn.Server, threading.Thread, str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(app, log_config=None, log_level="warning", timeout_graceful_shutdown=1)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    return server, thread, f"http://127.0.0.1:{sock.getsockname()[1]}"


def measure(url: str, rounds: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    results: dict[str, list[float]] = {name: [] for name in TARGETS_MS}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(rounds):
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            page.goto(url + "/?per_page=100")
            page.wait_for_selector("html[data-ready='1']", timeout=30_000)
            results["first screen"].append(page.evaluate("window.__cm.readyAt"))
            steps = (
                ("next page", TIMED_CLICK, "#page-next"),
                ("next page", TIMED_CLICK, "#page-next"),
                ("filter", TIMED_CLICK, ".filter[data-filter='unprocessed']"),
                ("filter", TIMED_CLICK, ".filter[data-filter='needs_attention']"),
                ("search", TIMED_SEARCH, "Chapter 004"),
                ("sort", TIMED_SORT, "size"),
                ("last page", TIMED_CLICK, "#page-last"),
            )
            for name, script, arg in steps:
                # A person reads a page before the next click: let its covers and counts settle.
                page.wait_for_timeout(500)
                results[name].append(page.evaluate(script, arg))
            context.close()
        browser.close()
    return results


def _metrics(cdp: Any) -> dict[str, float]:
    return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}


def _publish_job(bus: EventBus, items: int) -> None:
    """A synthetic job of `items` items, one in ten failing, published about as fast as workers would."""
    job = 10**9  # no such row: the page shows it from the stream alone
    for i in range(1, items + 1):
        failed = i // 10
        bus.publish(JobItem(job, i, f"Series/{i:05d}.cbz", "failed" if i % 10 == 0 else "done", "bad page"))
        pct = round(100 * i / items, 1)
        bus.publish(JobUpdated(job, "running", i, items, i - failed, failed, 0, pct, f"Series/{i:05d}.cbz"))
        if i % 50 == 0:
            time.sleep(0.005)  # keeps the stream's ring buffer from lapping the page
    final = items // 10
    bus.publish(JobUpdated(job, "completed", items, items, items - final, final, 0, 100.0))


def measure_stream(url: str, bus: EventBus, items: int) -> dict[str, float]:
    """The tab's heap, DOM size and busy time while a job of `items` items streams to it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        # CSP bypass only lets Playwright evaluate its own wait predicate.
        page = browser.new_page(viewport={"width": 1400, "height": 900}, bypass_csp=True)
        page.goto(url + "/?per_page=100")
        page.wait_for_selector("html[data-ready='1']", timeout=30_000)
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")
        page.wait_for_timeout(1000)
        before = _metrics(cdp)
        started = time.perf_counter()
        _publish_job(bus, items)
        page.wait_for_function(
            "document.querySelector('#job-status').textContent === 'completed'", timeout=60_000
        )
        wall = time.perf_counter() - started
        after = _metrics(cdp)
        browser.close()
    return {
        "seconds": wall,
        "busy share": (after["TaskDuration"] - before["TaskDuration"]) / wall,
        "heap MB before": before["JSHeapUsedSize"] / 2**20,
        "heap MB after": after["JSHeapUsedSize"] / 2**20,
        "DOM nodes added": after["Nodes"] - before["Nodes"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--stream-items", type=int, default=10_000, help="0 skips the streaming check")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "library"
        root.mkdir()
        settings = Settings(watched_dir=root, duplicate_dir=None, config_dir=Path(tmp) / "config")
        (settings.db_path.parent).mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        fill_store(settings.db_path, args.files)
        print(f"store filled with {args.files} rows in {time.perf_counter() - started:.1f} s")
        service = build_service(settings)
        service.start(scan_library=False)  # a scan would drop rows whose files are not on disk
        if not any(getattr(r, "path", None) == "/" for r in service.app.routes):
            service.app.include_router(pages.router)
        server, thread, url = start_server(service.app)
        try:
            results = measure(url, args.rounds)
            streamed = measure_stream(url, service.bus, args.stream_items) if args.stream_items else {}
        finally:
            server.should_exit = True
            thread.join(10)
            service.stop()
    for name, value in streamed.items():
        print(f"stream of {args.stream_items} items: {name} {value:.2f}")
    return report(results)


def report(results: dict[str, list[float]]) -> int:
    failed = 0
    print(f"{'measure':<14}{'median ms':>11}{'max ms':>9}{'target':>9}")
    for name, values in results.items():
        median = statistics.median(values)
        ok = median < TARGETS_MS[name]
        failed += not ok
        print(f"{name:<14}{median:>11.0f}{max(values):>9.0f}{TARGETS_MS[name]:>9}  {'ok' if ok else 'SLOW'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
