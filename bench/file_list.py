"""How fast is the web page's file list? And the first scan of a large library?

    python bench/file_list.py [--sizes 1000,10000,100000] [--repeat 30] [--scan 100000]

For each size a fresh store is filled with ``bulk_upsert`` (series folders of 50 chapters, a mix
of statuses like a library half way through its first run) and ``FileList.page`` is timed
in-process, page of 100, for combinations of search, filter, sort, direction and page depth.
Three "cold" columns time the first call after a commit (the read connection's page cache then
starts empty):

- "new query": a query this FileList has never counted, on a FileList already serving (its path
  index built by ``warm``, as the server does at start-up, and the earlier cases' searches kept):
  the search is counted from scratch;
- "after commit": the query was asked before, then a commit that changed no file (a job's
  progress); ``--repeat`` samples, p50 and p95;
- "after 10 marked": the query was asked before, then 10 unprocessed files were marked processed,
  one commit each, in path order as a running job does; ``--repeat`` samples, p50 and p95.

"warm" repeats the same call with no commit between, as when a person pages through results or
changes the sort. After the table, the time ``warm`` took to build the path index at each size,
and the memory it holds (traced in a second build).

``--scan N`` then builds a tree of N empty ``.cbz`` files in a temp folder and times
``scanner.scan`` into an empty store (no archive is opened by a scan). Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import NamedTuple

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


class Result(NamedTuple):
    case: str
    size: int
    new: float
    after_commit: list[float]
    after_marked: list[float]
    warm: list[float]


class Built(NamedTuple):
    size: int
    ms: float
    megabytes: float


def bench_size(size: int, repeat: int) -> tuple[list[Result], Built]:
    results = []
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.db") as store:
        fill(store, size)
        job = job_order(store)
        built = bench_warm(store, size)
        files = FileList(store)
        files.warm()  # serving: the path index built, as at the server's start-up
        for name, query in CASES:
            call = partial(files.page, query)
            store.set_kv("bench", "tick", time.time())
            new = timed(call, 1)[0]
            after_commit = [first_call_after(partial(tick, store), call) for _ in range(repeat)]
            after_marked = [first_call_after(partial(mark, store, job, 10), call) for _ in range(repeat)]
            warm = timed(call, repeat)
            results.append(Result(name, size, new, after_commit, after_marked, warm))
    return results, built


def bench_warm(store: Store, size: int) -> Built:
    """How long ``warm`` takes to build the path index, and the memory the index holds."""
    start = time.perf_counter()
    FileList(store).warm()
    took = (time.perf_counter() - start) * 1000
    tracemalloc.start()
    files = FileList(store)
    files.warm()
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del files
    return Built(size, took, held / 1e6)


def tick(store: Store) -> None:
    """A commit that changes no file, like a job's progress."""
    store.set_kv("bench", "tick", time.time())


def job_order(store: Store) -> Iterator[tuple[str, Status]]:
    """The unprocessed files in path order, to mark processed; when all are, back again, and so on,
    so every mark changes a status however small the library."""
    paths = [row.path for row in store.files(Status.UNPROCESSED)]
    for status in itertools.cycle((Status.PROCESSED, Status.UNPROCESSED)):
        for path in paths:
            yield path, status


def mark(store: Store, job: Iterator[tuple[str, Status]], count: int) -> None:
    for path, status in [next(job) for _ in range(count)]:
        store.mark(path, status=status)


def first_call_after(commit: Callable[[], object], call: Callable[[], object]) -> float:
    commit()
    return timed(call, 1)[0]


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
    print(
        "| case | files | new query | after commit p50 | p95 | after 10 marked p50 | p95"
        " | warm p50 | warm p95 |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    builds = []
    for size in (int(s) for s in args.sizes.split(",")):
        results, built = bench_size(size, args.repeat)
        builds.append(built)
        for r in results:
            cells = [r.new]
            for times in (r.after_commit, r.after_marked, r.warm):
                cells += [statistics.median(times), p95(times)]
            print(f"| {r.case} | {r.size:,} | " + " | ".join(f"{ms:.2f}" for ms in cells) + " |", flush=True)
    print()
    print("| path index (warm) | files | build ms | memory MB |")
    print("| --- | ---: | ---: | ---: |")
    for b in builds:
        print(f"| built | {b.size:,} | {b.ms:.0f} | {b.megabytes:.1f} |")
    if args.scan:
        made, took, found = bench_scan(args.scan)
        print()
        print("| first scan | files found | seconds (tree made in) |")
        print("| --- | ---: | ---: |")
        print(f"| scanner.scan, empty store | {found:,} | {took:.2f} ({made:.1f}) |")


if __name__ == "__main__":
    main()
