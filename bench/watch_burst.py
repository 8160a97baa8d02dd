"""Burst benchmark for the watcher: thousands of archives land at once; each processed once, none missed.

Run 1 copies N small real zip archives into the watched folder as fast as the disk allows (100
per sub-folder, like a batch download). Run 2 moves M archives in from another folder on the
same disk (renames: the data arrives instantly, only the events differ). For each run it
reports the time from the last copy/move to the last file processed, and counts the pipeline's
runs per path: every file exactly once, none missed, nothing else touched.

The default target is a stand-in with the real pipeline's shape (it opens each archive's
directory, reads a page, records the file's fingerprint like the store does). ``--real`` runs
the real ``library.process`` pipeline against a real SQLite store in a temp config folder.

    python bench/watch_burst.py                      # 10,000 copied + 1,000 moved, quiet 5 s
    python bench/watch_burst.py --count 2000 --real  # the real pipeline (slower: it writes)
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from comicmaintainer.watcher.fold import is_comic
from comicmaintainer.watcher.service import Watcher, WatchTarget, process_each
from comicmaintainer.watcher.stability import Fingerprint, fingerprint_of

PER_FOLDER = 100


class CountingTarget:
    """A stand-in for the pipeline: reads each archive, records its fingerprint, counts runs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.lock = threading.Lock()
        self.rows: dict[str, Fingerprint] = {}
        self.runs: Counter[str] = Counter()
        self.last_run = 0.0
        self.unreadable_paths: list[str] = []

    def known_fingerprint(self, rel_path: str) -> Fingerprint | None:
        with self.lock:
            return self.rows.get(rel_path)

    def process_batch(self, rel_paths: list[str]) -> dict[str, str]:
        return process_each(self.process, rel_paths)

    def process(self, rel_path: str) -> None:
        with zipfile.ZipFile(self.root / rel_path) as zf:
            zf.read(zf.infolist()[0])
        fp = fingerprint_of(self.root / rel_path)
        with self.lock:
            self.runs[rel_path] += 1
            self.last_run = time.monotonic()
            if fp is not None:
                self.rows[rel_path] = fp

    def forget(self, rel_path: str) -> None:
        with self.lock:
            self.rows.pop(rel_path, None)

    def move(self, old_rel: str, new_rel: str) -> None:
        with self.lock:
            if old_rel in self.rows:
                self.rows[new_rel] = self.rows.pop(old_rel)

    def move_folder(self, old_rel: str, new_rel: str) -> None:
        with self.lock:
            for rel in [r for r in self.rows if r.startswith(old_rel + "/")]:
                self.rows[new_rel + rel[len(old_rel) :]] = self.rows.pop(rel)

    def unreadable(self, rel_path: str) -> None:
        self.unreadable_paths.append(rel_path)

    def catch_up(self) -> list[str]:
        return []


def real_target(root: Path, config_dir: Path) -> CountingTarget:
    """The real pipeline and store behind the same counters (imported only with --real)."""
    from comicmaintainer.config import load_settings
    from comicmaintainer.library.process import Context, process
    from comicmaintainer.library.scanner import scan
    from comicmaintainer.library.store import Status, Store

    settings = load_settings({"WATCHED_DIR": str(root), "CONFIG_DIR": str(config_dir)})
    store = Store(settings.db_path)
    ctx = Context(settings=settings, store=store, source="watcher")

    class RealTarget(CountingTarget):
        def known_fingerprint(self, rel_path: str) -> Fingerprint | None:
            row = store.get_file(rel_path)
            if row is None or row.status == Status.UNPROCESSED:
                return None  # a scanned-but-unprocessed row is not our own write
            return (row.size, row.mtime_ns, row.inode)

        def process_batch(self, rel_paths: list[str]) -> dict[str, str]:
            return process_each(self.process, rel_paths)

        def process(self, rel_path: str) -> None:
            result = process(rel_path, ctx)
            with self.lock:
                self.runs[rel_path] += 1
                self.last_run = time.monotonic()
            if result.failed:
                raise RuntimeError(result.message)

        def forget(self, rel_path: str) -> None:
            store.delete_file(rel_path)

        def move(self, old_rel: str, new_rel: str) -> None:
            store.move_file(old_rel, new_rel)

        def move_folder(self, old_rel: str, new_rel: str) -> None:
            store.move_prefix(old_rel, new_rel)

        def catch_up(self) -> list[str]:
            return scan(root, store).needs_work

    return RealTarget(root)


def make_sources(folder: Path, count: int, prefix: str) -> list[Path]:
    """``count`` distinct small zips (3 pages) in sub-folders of ``PER_FOLDER``."""
    paths = []
    for i in range(count):
        sub = folder / f"{prefix} {i // PER_FOLDER:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"{prefix} {i // PER_FOLDER:03d} c{i % PER_FOLDER + 1:03d}.cbz"
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
            for page in range(3):
                zf.writestr(f"{page:03d}.jpg", i.to_bytes(4, "big") * 256 + bytes([page]))
        path.write_bytes(buf.getvalue())
        paths.append(path)
    return paths


@dataclass
class RunResult:
    name: str
    files: int
    arrive_s: float
    settle_s: float
    once: int
    missed: int
    twice: int
    stray: int
    failed: int
    skipped: int


def run(
    name: str, watcher: Watcher, target: CountingTarget, deliver: Callable[[], list[str]], grace: float
) -> RunResult:
    """Deliver files, wait until all are processed, then a grace period to catch late doubles."""
    before = Counter(target.runs)
    started = time.monotonic()
    expected = deliver()
    arrived = time.monotonic()
    deadline = arrived + 600
    while time.monotonic() < deadline:
        done = sum(1 for rel in expected if target.runs[rel] > before[rel])
        if done >= len(expected) and watcher.status().pending == 0:
            break
        time.sleep(0.05)
    settle = max(0.0, target.last_run - arrived)
    time.sleep(grace)
    runs = target.runs - before
    status = watcher.status()
    return RunResult(
        name=name,
        files=len(expected),
        arrive_s=arrived - started,
        settle_s=settle,
        once=sum(1 for rel in expected if runs[rel] == 1),
        missed=sum(1 for rel in expected if runs[rel] == 0),
        twice=sum(1 for rel in expected if runs[rel] > 1),
        stray=sum(n for rel, n in runs.items() if rel not in set(expected)),
        failed=status.failed,
        skipped=status.skipped,
    )


def table(results: list[RunResult], quiet: float, mode: str) -> str:
    head = (
        f"| run ({mode}, quiet {quiet:g} s) | files | copy/move took | last arrival → last processed "
        "| processed once | missed | twice+ | other paths | failed | echoes skipped |"
    )
    lines = [head, "|" + " --- |" * 10]
    for r in results:
        lines.append(
            f"| {r.name} | {r.files:,} | {r.arrive_s:.2f} s | {r.settle_s:.2f} s | {r.once:,} | {r.missed} "
            f"| {r.twice} | {r.stray} | {r.failed} | {r.skipped} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="archives copied in run 1")
    parser.add_argument("--moved", type=int, default=1_000, help="archives moved in for run 2")
    parser.add_argument("--quiet", type=float, default=5.0, help="quiet period in seconds")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--polling", action="store_true", help="use the polling observer")
    parser.add_argument("--real", action="store_true", help="run the real pipeline and store")
    parser.add_argument("--dir", type=Path, default=None, help="where to make the temp folders")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="watch-burst-", dir=args.dir) as tmp:
        base = Path(tmp)
        root, outside, config = base / "library", base / "outside", base / "config"
        root.mkdir()
        sources = make_sources(outside / "copy", args.count, "Copied")
        incoming = make_sources(outside / "move", args.moved, "Moved")
        target: CountingTarget = real_target(root, config) if args.real else CountingTarget(root)
        _check_protocol(target)
        watcher = Watcher(root, target, quiet_period=args.quiet, polling=args.polling, workers=args.workers)
        watcher.start()
        time.sleep(0.5)  # the start-up catch-up on an empty folder
        grace = max(2.0, 2 * args.quiet)
        try:
            results = [
                run(
                    "copy in",
                    watcher,
                    target,
                    lambda: deliver(sources, outside / "copy", root, copy=True),
                    grace,
                ),
                run(
                    "move in",
                    watcher,
                    target,
                    lambda: deliver(incoming, outside / "move", root, copy=False),
                    grace,
                ),
            ]
        finally:
            watcher.stop()
    print(table(results, args.quiet, "real pipeline" if args.real else "stand-in target"))
    ok = all(r.missed == 0 and r.twice == 0 and r.stray == 0 and r.failed == 0 for r in results)
    print("\nevery file processed exactly once, none missed" if ok else "\nFAILED: see the table")
    return 0 if ok else 1


def deliver(paths: list[Path], source_root: Path, root: Path, *, copy: bool) -> list[str]:
    """Copy (or rename) each file to the same relative place under the library; return rel paths."""
    rels = []
    for path in paths:
        rel = path.relative_to(source_root).as_posix()
        dest = root / rel
        dest.parent.mkdir(exist_ok=True)
        if copy:
            shutil.copyfile(path, dest)
        else:
            os.rename(path, dest)
        assert is_comic(rel)
        rels.append(rel)
    return rels


def _check_protocol(target: WatchTarget) -> None:
    """Typing only: the stand-in and the real adapter both satisfy WatchTarget."""


if __name__ == "__main__":
    sys.exit(main())
