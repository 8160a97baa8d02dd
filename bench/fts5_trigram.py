"""The path index against SQLite FTS5's trigram tokenizer, over the same library.

    python bench/fts5_trigram.py [--size 1000000] [--repeat 20]

One store is filled as ``bench/file_list.py`` fills it (series folders of 50 chapters, a mix of
statuses). Then, for each way of answering a new search's counts per status:

- **path index**: ``PathIndex`` built from the rows (as ``FileList.warm`` builds it), memory by
  ``tracemalloc``; a new search is ``PathIndex.search`` (counts, and the matches when few);
  a commit costs replaying its change (``PathIndex.apply``) before the next search;
- **FTS5 trigram**: an external-content FTS5 table over ``files.path`` with the trigram tokenizer
  (case folded, as LIKE folds), built by ``'rebuild'``, size from the database's page count; a new
  search is ``count(*) FILTER (…)`` per status over ``path LIKE`` on the FTS table (the tokenizer
  answers LIKE for queries of 3 characters or more, and scans for shorter ones); a commit costs the
  triggers that keep the FTS table in step.

New searches are the file-list bench's search cases plus every prefix of three typed queries (each
keystroke a new search); p50 and p95 over them, each timed ``--repeat`` times (the median kept).
"Cost per commit" is the median time of ``Store.mark`` on one file (one commit), minus the same
without the FTS triggers, for FTS5; for the path index, the change log read and ``apply`` of one
change. Prints Markdown.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from comicmaintainer.library.store import FileList, Status, Store  # noqa: E402
from comicmaintainer.library.store.path_index import PathIndex, like_fold  # noqa: E402
from file_list import CASES, fill, p95  # noqa: E402  (the same library as the file-list bench)

TYPED = ("chapter 0007", "series 0042", "tales - chapter 0031")
FTS_SQL = (
    "CREATE VIRTUAL TABLE bench_fts USING fts5(path, content='files', content_rowid='rowid',"
    " tokenize='trigram case_sensitive 0')",
    "CREATE TRIGGER bench_fts_ai AFTER INSERT ON files BEGIN"
    " INSERT INTO bench_fts (rowid, path) VALUES (new.rowid, new.path); END",
    "CREATE TRIGGER bench_fts_ad AFTER DELETE ON files BEGIN"
    " INSERT INTO bench_fts (bench_fts, rowid, path) VALUES ('delete', old.rowid, old.path); END",
    "CREATE TRIGGER bench_fts_au AFTER UPDATE OF path ON files BEGIN"
    " INSERT INTO bench_fts (bench_fts, rowid, path) VALUES ('delete', old.rowid, old.path);"
    " INSERT INTO bench_fts (rowid, path) VALUES (new.rowid, new.path); END",
)
BY_STATUS = ", ".join(f"count(*) FILTER (WHERE f.status = '{s.value}')" for s in Status)
FTS_COUNT = (
    f"SELECT {BY_STATUS} FROM bench_fts JOIN files f ON f.rowid = bench_fts.rowid"  # noqa: S608
    " WHERE bench_fts.path LIKE ? ESCAPE '\\'"
)


def searches() -> list[str]:
    found = [query.search for _name, query in CASES if query.search]
    for typed in TYPED:
        found += [typed[:n] for n in range(1, len(typed) + 1)]
    return list(dict.fromkeys(found))


def ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def median_of(call: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()  # type: ignore[operator]
        times.append(ms(start))
    return statistics.median(times)


def like_pattern(search: str) -> str:
    return "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def bench_path_index(db: Path, store: Store, repeat: int) -> dict[str, float]:
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT rowid, path, status FROM files").fetchall()
    start = time.perf_counter()
    index = PathIndex(rows)
    build = ms(start)
    tracemalloc.start()
    held = PathIndex(rows)
    memory = tracemalloc.get_traced_memory()[0] / 1e6
    tracemalloc.stop()
    del held
    times = [median_of(lambda q=q: index.search(q, 5000), repeat) for q in searches()]
    # One commit, then what the next search pays first: the log read and the change applied.
    files = FileList(store)
    files.warm()
    files.counts("chapter")
    path = rows[0][1]
    commits = []
    for i in range(repeat):
        store.mark(path, status=(Status.PROCESSED, Status.UNPROCESSED)[i % 2])
        start = time.perf_counter()
        files.counts("chapter")  # the change log read and replayed
        commits.append(ms(start))
    conn.close()
    return {"build": build, "size": memory, "p50": statistics.median(times), "p95": p95(times),
            "commit": statistics.median(commits)}  # fmt: skip


def bench_fts5(db: Path, store: Store, repeat: int) -> dict[str, float]:
    conn = sqlite3.connect(db, isolation_level=None)
    path = conn.execute("SELECT path FROM files LIMIT 1").fetchone()[0]
    pages_before = conn.execute("PRAGMA page_count").fetchone()[0]
    start = time.perf_counter()
    for sql in FTS_SQL:
        conn.execute(sql)
    conn.execute("INSERT INTO bench_fts (bench_fts) VALUES ('rebuild')")
    build = ms(start)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    size = (conn.execute("PRAGMA page_count").fetchone()[0] - pages_before) * page_size / 1e6
    times = [
        median_of(lambda q=q: conn.execute(FTS_COUNT, (like_pattern(q),)).fetchall(), repeat)
        for q in searches()
    ]
    # A rename is what the FTS triggers add work to (a status change alone touches no FTS row):
    # renames with the triggers and without, in turns, so both see the same machine.
    with_fts, without = [], []
    for _ in range(5):
        with_fts.append(rename_ms(store, path, repeat))
        for sql in FTS_SQL[1:]:
            conn.execute("DROP TRIGGER " + sql.split()[2])
        without.append(rename_ms(store, path, repeat))
        for sql in FTS_SQL[1:]:
            conn.execute(sql)
    conn.close()
    commit = statistics.median(with_fts) - statistics.median(without)
    return {"build": build, "size": size, "p50": statistics.median(times), "p95": p95(times),
            "commit": commit}  # fmt: skip


def rename_ms(store: Store, path: str, repeat: int) -> float:
    """Median time of one commit renaming a file (there and back)."""
    times = []
    other = path + ".renamed"
    for i in range(repeat):
        old, new = (path, other) if i % 2 == 0 else (other, path)
        start = time.perf_counter()
        store.move_file(old, new)
        times.append(ms(start))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    assert like_fold("A") == "a"
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        with Store(db) as store:
            fill(store, args.size)
            index = bench_path_index(db, store, args.repeat)
            fts = bench_fts5(db, store, args.repeat)
    print(f"{args.size:,} files, {len(searches())} new searches, each the median of {args.repeat}\n")
    print("| | build | size | new search p50 | p95 | cost per commit |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, r in (("path index (memory)", index), ("FTS5 trigram (on disk)", fts)):
        print(
            f"| {name} | {r['build'] / 1000:.1f} s | {r['size']:.1f} MB | {r['p50']:.2f} ms"
            f" | {r['p95']:.2f} ms | {r['commit']:.3f} ms |"
        )


if __name__ == "__main__":
    main()
