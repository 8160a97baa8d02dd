"""The watcher end to end: real folders, a real watchdog observer, a recording test target.

``RecordingTarget`` is our test double of the ``WatchTarget`` protocol. It behaves like the real
store does from the watcher's side: it records each file's fingerprint after processing it (and
after its own rewrite, when asked to rewrite like the pipeline does), moves rows on renames and
reconciles with the folder on ``catch_up``. It counts every call so tests can assert "exactly
once".
"""

from __future__ import annotations

import errno
import io
import os
import shutil
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from comicmaintainer.watcher.fold import is_comic, is_under, reparent
from comicmaintainer.watcher.service import Watcher, WatcherStatus, explain_observer_error, process_each
from comicmaintainer.watcher.stability import Fingerprint, fingerprint_of, opens_as_archive


def zip_bytes(seed: int = 0, pages: int = 3, page_size: int = 4000) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for page in range(pages):
            zf.writestr(f"{page:03d}.jpg", bytes([seed % 256, page % 256]) * (page_size // 2))
    return buf.getvalue()


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


class RecordingTarget:
    def __init__(self, root: Path, *, rewrite: bool = False, fail_on: str | None = None) -> None:
        self.root = Path(os.path.realpath(root))
        self.rewrite = rewrite  # rewrite the archive on processing, as the pipeline does
        self.fail_on = fail_on
        self.lock = threading.Lock()
        self.rows: dict[str, Fingerprint] = {}
        self.processed: Counter[str] = Counter()
        self.calls: list[tuple[str, ...]] = []
        self.incomplete: list[str] = []  # files that were not whole archives when processed
        self.unreadable_paths: list[str] = []
        self.batches: list[list[str]] = []

    def known_fingerprint(self, rel_path: str) -> Fingerprint | None:
        with self.lock:
            return self.rows.get(rel_path)

    def process_batch(self, rel_paths: list[str]) -> dict[str, str]:
        with self.lock:
            self.batches.append(list(rel_paths))
        return process_each(self.process, rel_paths)

    def process(self, rel_path: str) -> None:
        path = self.root / rel_path
        if not opens_as_archive(path):
            self.incomplete.append(rel_path)
        with self.lock:
            self.processed[rel_path] += 1
            self.calls.append(("process", rel_path))
        if rel_path == self.fail_on:
            raise RuntimeError("broken archive")
        if self.rewrite:
            tmp = path.with_name(f".{path.name}.cm-tmp-1")
            tmp.write_bytes(path.read_bytes() + b"")
            with zipfile.ZipFile(tmp, "a") as zf:
                zf.writestr("ComicInfo.xml", "<ComicInfo/>")
            os.replace(tmp, path)
        fp = fingerprint_of(path)
        with self.lock:
            if fp is not None:
                self.rows[rel_path] = fp

    def forget(self, rel_path: str) -> None:
        with self.lock:
            self.calls.append(("forget", rel_path))
            self.rows.pop(rel_path, None)

    def move(self, old_rel: str, new_rel: str) -> None:
        with self.lock:
            self.calls.append(("move", old_rel, new_rel))
            if old_rel in self.rows:
                self.rows[new_rel] = self.rows.pop(old_rel)

    def move_folder(self, old_rel: str, new_rel: str) -> None:
        with self.lock:
            self.calls.append(("move_folder", old_rel, new_rel))
            for rel in [r for r in self.rows if is_under(r, old_rel)]:
                self.rows[reparent(rel, old_rel, new_rel)] = self.rows.pop(rel)

    def unreadable(self, rel_path: str) -> None:
        self.unreadable_paths.append(rel_path)

    def catch_up(self) -> list[str]:
        on_disk: dict[str, Fingerprint] = {}
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                rel = (Path(dirpath) / name).relative_to(self.root).as_posix()
                fp = fingerprint_of(self.root / rel)
                if is_comic(rel) and fp is not None:
                    on_disk[rel] = fp
        with self.lock:
            self.calls.append(("catch_up",))
            for rel in [r for r in self.rows if r not in on_disk]:
                del self.rows[rel]
            return sorted(rel for rel, fp in on_disk.items() if self.rows.get(rel) != fp)

    def count(self, kind: str) -> int:
        with self.lock:
            return sum(1 for call in self.calls if call[0] == kind)


# -- fixtures ----------------------------------------------------------------------------------

QUIET = 0.2


@pytest.fixture
def root(tmp_path: Path) -> Path:
    library = tmp_path / "library"
    library.mkdir()
    return library


@pytest.fixture
def start_watcher(root: Path) -> Iterator[Callable[..., Watcher]]:
    started: list[Watcher] = []

    def start(target: RecordingTarget, **options: Any) -> Watcher:
        options.setdefault("quiet_period", QUIET)
        watcher = Watcher(root, target, **options)
        watcher.start()
        started.append(watcher)
        # The start-up catch-up runs on the scheduler thread; wait for it so tests begin clean.
        assert wait_until(lambda: target.count("catch_up") >= 1)
        return watcher

    yield start
    for watcher in started:
        watcher.stop()


def settle(watcher: Watcher, seconds: float = 3 * QUIET) -> None:
    """Wait until nothing is pending, then a little longer so late echoes would show up."""
    assert wait_until(lambda: watcher.status().pending == 0)
    time.sleep(seconds)
    assert watcher.status().pending == 0


# -- tests -------------------------------------------------------------------------------------


def test_dropped_file_is_processed_once(root: Path, start_watcher: Callable[..., Watcher]) -> None:
    target = RecordingTarget(root)
    watcher = start_watcher(target)
    (root / "Series").mkdir()
    (root / "Series" / "a.cbz").write_bytes(zip_bytes(1))
    (root / "notes.txt").write_text("not a comic")
    assert wait_until(lambda: target.processed["Series/a.cbz"] == 1)
    settle(watcher)
    assert target.processed == {"Series/a.cbz": 1}
    assert watcher.status().processed == 1


def test_slow_copy_is_processed_once_when_complete(root: Path, start_watcher: Callable[..., Watcher]) -> None:
    target = RecordingTarget(root)
    watcher = start_watcher(target)
    trickle(root / "slow.cbz", zip_bytes(2, pages=30), seconds=3.0, pause=0.1)
    assert wait_until(lambda: target.processed["slow.cbz"] == 1)
    settle(watcher)
    assert target.processed == {"slow.cbz": 1}
    assert target.incomplete == []


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("CM_SLOW") != "1", reason="30 s trickle; set CM_SLOW=1 to run")
def test_thirty_second_trickle_with_default_like_quiet_period(
    root: Path, start_watcher: Callable[..., Watcher]
) -> None:
    target = RecordingTarget(root)
    watcher = start_watcher(target, quiet_period=2.0)
    # Pauses just under the quiet period: the worst case a stable-size check must survive.
    trickle(root / "slow.cbz", zip_bytes(3, pages=40), seconds=30.0, pause=1.8)
    assert wait_until(lambda: target.processed["slow.cbz"] == 1)
    settle(watcher, 3.0)
    assert target.processed == {"slow.cbz": 1}
    assert target.incomplete == []


def test_own_write_is_not_processed_again(root: Path, start_watcher: Callable[..., Watcher]) -> None:
    target = RecordingTarget(root, rewrite=True)
    watcher = start_watcher(target)
    (root / "a.cbz").write_bytes(zip_bytes(4))
    assert wait_until(lambda: target.processed["a.cbz"] == 1)
    settle(watcher)
    assert target.processed == {"a.cbz": 1}
    assert watcher.status().skipped >= 1  # the rewrite's events were seen and recognised


def test_rename_moves_row_without_reprocessing(root: Path, start_watcher: Callable[..., Watcher]) -> None:
    target = RecordingTarget(root)
    watcher = start_watcher(target)
    (root / "a.cbz").write_bytes(zip_bytes(5))
    assert wait_until(lambda: target.processed["a.cbz"] == 1)
    settle(watcher)
    (root / "a.cbz").rename(root / "b.cbz")
    assert wait_until(lambda: ("move", "a.cbz", "b.cbz") in target.calls)
    settle(watcher)
    assert target.processed == {"a.cbz": 1}
    assert "b.cbz" in target.rows and "a.cbz" not in target.rows


def test_folder_move_keeps_rows_unprocessed(root: Path, start_watcher: Callable[..., Watcher]) -> None:
    target = RecordingTarget(root)
    watcher = start_watcher(target)
    (root / "Old" / "sub").mkdir(parents=True)
    names = ["Old/a.cbz", "Old/b.cbz", "Old/sub/c.cbr"]
    for seed, name in enumerate(names):
        (root / name).write_bytes(zip_bytes(seed))
    assert wait_until(lambda: sum(target.processed.values()) == 3)
    settle(watcher)
    (root / "Old").rename(root / "New")
    assert wait_until(lambda: ("move_folder", "Old", "New") in target.calls)
    settle(watcher)
    assert target.processed == {name: 1 for name in names}
    assert sorted(target.rows) == ["New/a.cbz", "New/b.cbz", "New/sub/c.cbr"]


def test_delete_forgets_row(root: Path, start_watcher: Callable[..., Watcher]) -> None:
    target = RecordingTarget(root)
    watcher = start_watcher(target)
    (root / "a.cbz").write_bytes(zip_bytes(6))
    assert wait_until(lambda: target.processed["a.cbz"] == 1)
    (root / "a.cbz").unlink()
    assert wait_until(lambda: ("forget", "a.cbz") in target.calls)
    settle(watcher)
    assert target.rows == {}
    assert target.processed == {"a.cbz": 1}


@pytest.mark.parametrize("how", ["overwrite", "atomic-replace"])
def test_replaced_in_place_is_processed_again(
    root: Path, start_watcher: Callable[..., Watcher], how: str
) -> None:
    target = RecordingTarget(root)
    watcher = start_watcher(target)
    (root / "a.cbz").write_bytes(zip_bytes(7))
    assert wait_until(lambda: target.processed["a.cbz"] == 1)
    settle(watcher)
    if how == "overwrite":
        (root / "a.cbz").write_bytes(zip_bytes(8, pages=5))
    else:
        (root / ".sync-a.tmp").write_bytes(zip_bytes(8, pages=5))
        (root / ".sync-a.tmp").replace(root / "a.cbz")
    assert wait_until(lambda: target.processed["a.cbz"] == 2)
    settle(watcher)
    assert target.processed == {"a.cbz": 2}


def test_partial_download_ignored_until_renamed(root: Path, start_watcher: Callable[..., Watcher]) -> None:
    target = RecordingTarget(root)
    watcher = start_watcher(target)
    for name in ("a.cbz.part", "b.cbz.crdownload", "c.tmp", ".d.cbz"):
        (root / name).write_bytes(zip_bytes(9))
    settle(watcher)
    assert target.processed == {}
    (root / "a.cbz.part").rename(root / "a.cbz")
    assert wait_until(lambda: target.processed["a.cbz"] == 1)
    settle(watcher)
    assert target.processed == {"a.cbz": 1}


def test_off_then_on_catches_up(root: Path, start_watcher: Callable[..., Watcher]) -> None:
    target = RecordingTarget(root)
    watcher = start_watcher(target)
    watcher.set_enabled(False)
    assert wait_until(lambda: not watcher.status().enabled)
    (root / "a.cbz").write_bytes(zip_bytes(10))
    settle(watcher)
    assert target.processed == {}
    watcher.set_enabled(True)
    assert wait_until(lambda: target.processed["a.cbz"] == 1)
    settle(watcher)
    assert target.count("catch_up") == 2
    assert target.processed == {"a.cbz": 1}


def test_restart_catches_up_with_changes_made_while_down(
    root: Path, start_watcher: Callable[..., Watcher]
) -> None:
    target = RecordingTarget(root)
    first = start_watcher(target)
    for name in ("keep.cbz", "change.cbz", "gone.cbz"):
        (root / name).write_bytes(zip_bytes(len(name)))
    assert wait_until(lambda: sum(target.processed.values()) == 3)
    settle(first)
    first.stop()
    (root / "new.cbz").write_bytes(zip_bytes(20))
    (root / "change.cbz").write_bytes(zip_bytes(21, pages=6))
    (root / "gone.cbz").unlink()
    second = start_watcher(target)
    assert wait_until(lambda: target.processed["new.cbz"] == 1 and target.processed["change.cbz"] == 2)
    settle(second)
    assert target.processed == {"keep.cbz": 1, "change.cbz": 2, "gone.cbz": 1, "new.cbz": 1}
    assert "gone.cbz" not in target.rows


def test_polling_mode_sees_changes(root: Path, start_watcher: Callable[..., Watcher]) -> None:
    target = RecordingTarget(root)
    watcher = start_watcher(target, polling=True, polling_interval=0.2)
    assert watcher.status().polling
    (root / "S").mkdir()
    (root / "S" / "a.cbz").write_bytes(zip_bytes(11))
    assert wait_until(lambda: target.processed["S/a.cbz"] == 1)
    (root / "S").rename(root / "T")
    assert wait_until(lambda: ("move_folder", "S", "T") in target.calls)
    settle(watcher)
    assert target.processed == {"S/a.cbz": 1}


def test_failure_is_counted_and_watching_goes_on(root: Path, start_watcher: Callable[..., Watcher]) -> None:
    target = RecordingTarget(root, fail_on="bad.cbz")
    statuses: list[WatcherStatus] = []
    watcher = start_watcher(target, on_status=statuses.append)
    (root / "bad.cbz").write_bytes(zip_bytes(12))
    assert wait_until(lambda: watcher.status().failed == 1)
    (root / "good.cbz").write_bytes(zip_bytes(13))
    assert wait_until(lambda: target.processed["good.cbz"] == 1)
    settle(watcher)
    status = watcher.status()
    assert status.running and status.failed == 1 and status.processed == 1
    assert status.last_error is not None and "bad.cbz" in status.last_error
    assert any(s.failed == 1 for s in statuses)


def test_files_arriving_together_are_handed_over_together(
    root: Path, start_watcher: Callable[..., Watcher]
) -> None:
    """A burst is one batch (in the server, one watcher job), not one hand-over per file."""
    target = RecordingTarget(root)
    watcher = start_watcher(target)
    (root / "Series").mkdir()
    names = [f"Series/c{i:02d}.cbz" for i in range(20)]
    for i, rel in enumerate(names):
        (root / rel).write_bytes(zip_bytes(100 + i))
    assert wait_until(lambda: sum(target.processed.values()) == 20)
    settle(watcher)
    assert target.processed == dict.fromkeys(names, 1)
    assert sorted(rel for batch in target.batches for rel in batch) == names
    assert len(target.batches) <= 3, f"handed over in {len(target.batches)} batches"
    assert watcher.status().processed == 20


def test_stable_but_unreadable_file_is_held(root: Path, start_watcher: Callable[..., Watcher]) -> None:
    target = RecordingTarget(root)
    watcher = start_watcher(target)
    whole = zip_bytes(14)
    (root / "a.cbz").write_bytes(whole[: len(whole) // 2])  # a writer that stalled mid-copy
    time.sleep(6 * QUIET)
    assert target.processed == {}
    assert watcher.status().pending == 1
    assert target.unreadable_paths == ["a.cbz"]  # reported once, so a person sees why it waits
    with open(root / "a.cbz", "ab") as fh:
        fh.write(whole[len(whole) // 2 :])
    assert wait_until(lambda: target.processed["a.cbz"] == 1)
    settle(watcher)
    assert target.incomplete == []


def test_observer_restarts_when_folder_vanishes_and_returns(
    root: Path, start_watcher: Callable[..., Watcher]
) -> None:
    target = RecordingTarget(root)
    watcher = start_watcher(target)
    shutil.rmtree(root)
    assert wait_until(lambda: not watcher.status().observer_alive)
    assert wait_until(lambda: watcher.status().last_error is not None)
    root.mkdir()
    (root / "a.cbz").write_bytes(zip_bytes(15))  # arrives while the observer may still be down
    assert wait_until(lambda: target.processed["a.cbz"] == 1)
    assert wait_until(lambda: watcher.status().observer_alive)
    (root / "b.cbz").write_bytes(zip_bytes(16))  # and the new observer sees new events
    assert wait_until(lambda: target.processed["b.cbz"] == 1)
    settle(watcher)
    assert watcher.status().observer_restarts >= 1
    assert target.processed == {"a.cbz": 1, "b.cbz": 1}


def test_watch_limit_error_names_the_sysctl(tmp_path: Path) -> None:
    message = explain_observer_error(OSError(errno.ENOSPC, "inotify watch limit reached"), tmp_path)
    assert "fs.inotify.max_user_watches" in message
    assert "\n" not in message


def trickle(path: Path, data: bytes, *, seconds: float, pause: float) -> None:
    """Write ``data`` into ``path`` bit by bit over ``seconds``, pausing ``pause`` between writes."""
    steps = max(1, int(seconds / pause))
    chunk = -(-len(data) // steps)
    with open(path, "wb") as fh:
        for start in range(0, len(data), chunk):
            fh.write(data[start : start + chunk])
            fh.flush()
            time.sleep(pause)
