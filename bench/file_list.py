"""How fast is the web page's file list? And the first scan of a large library?

    python bench/file_list.py [--sizes 1000,10000,100000] [--repeat 30] [--scan 100000]

For each size a fresh store is filled with ``bulk_upsert`` (series folders of 50 chapters, a mix
of statuses like a library half way through its first run) and ``FileList.page`` is timed
in-process, page of 100, for combinations of search, filter, sort, direction and page depth.
"cold" times the first call after a commit (a search's counts are then recounted, and the read
connection's page cache starts empty); "warm" repeats the same call, as when a person pages
through results or changes the sort. Searches of 3 characters or more use the trigram index; a
shorter one scans.

``--scan N`` then builds a tree of N empty ``.cbz`` files in a temp folder and times
``scanner.scan`` into an empty store (no archive is opened by a scan). Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from comicmaintainer.library.scanner import scan
from comicmaintainer.library.store import FileList, FileQuery, FileRow, Status, Store

STATUS_MIX = (
    [Status.PROCESSED] * 60
    + [Status.UNPROCESSED] * 35
    + [Status.DUPLICATE] * 2
    + [Status.NEEDS_ATTENTION] * 3
)
CHAPTERS_PER_SERIES = 50

CASES: list[tuple[str, FileQuery]] = [
    ("all, name", FileQuery()),
    ("all, name desc, page 50", FileQuery(page=50, direction="desc")),
    ("all, folder", FileQuery(sort="folder")),
    ("all, date desc", FileQuery(sort="date", direction="desc")),
    ("all, size", FileQuery(sort="size")),
    ("processed, name", FileQuery(filter="processed")),
    ("unprocessed, date", FileQuery(filter="unprocessed", sort="date")),
    ("duplicates, name", FileQuery(filter="duplicates")),
    ("needs_attention, size desc", FileQuery(filter="needs_attention", sort="size", direction="desc")),
    ("search series (1 folder)", FileQuery(search="series 0042")),
    ("search 'chapter 0007' (2%), processed", FileQuery(search="chapter 0007", filter="processed")),
    ("search 'vol' (broad, 1/3), date", FileQuery(search="vol", sort="date")),
    ("search 'saga - chapter 00' (broad, long)", FileQuery(search="saga - chapter 00")),
    ("search 'ta' (2 chars: a scan), size", FileQuery(search="ta", sort="size")),
]


def fill(store: Store, size: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    rows = []
    for i in range(size):
        series = f"Series {i // CHAPTERS_PER_SERIES:04d} {rng.choice(('Saga', 'Tales', 'Vol Edition'))}"
        status = rng.choice(STATUS_MIX)
        path = f"{series}/{series} - Chapter {i % CHAPTERS_PER_SERIES:04d}.cbz"
        rows.append(
            FileRow(
                path=path,
                size=rng.randrange(1 << 20, 1 << 27),
                mtime_ns=rng.randrange(1 << 60),
                inode=i,
                status=status,
                duplicate_of=path if status is Status.DUPLICATE else None,
            )
        )
    store.bulk_upsert(rows)


def timed(call: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]


def bench_size(size: int, repeat: int) -> list[tuple[str, int, float, float, float]]:
    """(case, size, cold ms, warm p50 ms, warm p95 ms) for each case."""
    results = []
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.db") as store:
        fill(store, size)
        files = FileList(store)
        for name, query in CASES:
            store.set_kv("bench", "tick", time.time())  # a commit: caches start cold
            cold = timed(lambda q=query: files.page(q), 1)[0]  # type: ignore[misc]
            warm = timed(lambda q=query: files.page(q), repeat)  # type: ignore[misc]
            results.append((name, size, cold, statistics.median(warm), p95(warm)))
    return results


def bench_scan(count: int) -> tuple[float, float, int]:
    """(seconds to make the tree, seconds for the first scan, rows found)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "library"
        start = time.perf_counter()
        for i in range(count):
            series, chapter = divmod(i, CHAPTERS_PER_SERIES)
            folder = root / f"Series {series:05d}"
            if chapter == 0:
                folder.mkdir(parents=True)
            (folder / f"Series {series:05d} - Chapter {chapter:04d}.cbz").touch()
        made = time.perf_counter() - start
        with Store(Path(tmp) / "scan.db") as store:
            start = time.perf_counter()
            report = scan(root, store)
            took = time.perf_counter() - start
        return made, took, len(report.added)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--scan", type=int, default=100_000, help="files in the scanned tree (0: skip)")
    args = parser.parse_args()
    print("| case | files | cold ms | warm p50 ms | warm p95 ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for size in (int(s) for s in args.sizes.split(",")):
        for name, n, cold, p50, p95_ms in bench_size(size, args.repeat):
            print(f"| {name} | {n:,} | {cold:.2f} | {p50:.2f} | {p95_ms:.2f} |", flush=True)
    if args.scan:
        made, took, found = bench_scan(args.scan)
        print()
        print("| first scan | files found | seconds (tree made in) |")
        print("| --- | ---: | ---: |")
        print(f"| scanner.scan, empty store | {found:,} | {took:.2f} ({made:.1f}) |")


if __name__ == "__main__":
    main()
