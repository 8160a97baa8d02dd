"""Stability: quiet period with an injected clock, and archive completeness on real files."""

from __future__ import annotations

import zipfile
from pathlib import Path

from comicmaintainer.watcher.stability import (
    Signature,
    StabilityTracker,
    fingerprint_of,
    opens_as_archive,
)
from tests.fixture_files import rar_path


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_ready_only_after_quiet_period() -> None:
    clock, sigs = FakeClock(), {"a.cbz": (10, 1)}
    tracker = StabilityTracker(5.0, clock)
    tracker.add("a.cbz")
    assert tracker.poll(sigs.get) == []  # first sight records the signature
    clock.now += 4.9
    assert tracker.poll(sigs.get) == []
    clock.now += 0.2
    assert tracker.poll(sigs.get) == ["a.cbz"]


def test_growing_file_is_never_ready() -> None:
    clock = FakeClock()
    sigs: dict[str, Signature] = {"a.cbz": (0, 0)}
    tracker = StabilityTracker(1.0, clock)
    tracker.add("a.cbz")
    for step in range(1, 200):  # keeps growing every 0.9 s, for three minutes
        sigs["a.cbz"] = (step * 100, step)
        assert tracker.poll(sigs.get) == []
        clock.now += 0.9
    clock.now += 1.0
    assert tracker.poll(sigs.get) == ["a.cbz"]


def test_mtime_change_alone_restarts_period() -> None:
    clock, sigs = FakeClock(), {"a.cbz": (10, 1)}
    tracker = StabilityTracker(1.0, clock)
    tracker.add("a.cbz")
    tracker.poll(sigs.get)
    clock.now += 0.8
    sigs["a.cbz"] = (10, 2)
    assert tracker.poll(sigs.get) == []
    clock.now += 0.8
    assert tracker.poll(sigs.get) == []
    clock.now += 0.3
    assert tracker.poll(sigs.get) == ["a.cbz"]


def test_vanished_file_is_dropped() -> None:
    tracker = StabilityTracker(1.0, FakeClock())
    tracker.add("a.cbz")
    assert tracker.poll(lambda rel: None) == []
    assert "a.cbz" not in tracker and len(tracker) == 0


def test_held_until_it_changes() -> None:
    clock, sigs = FakeClock(), {"a.cbz": (10, 1)}
    tracker = StabilityTracker(1.0, clock)
    tracker.add("a.cbz")
    tracker.poll(sigs.get)
    clock.now += 2
    assert tracker.poll(sigs.get) == ["a.cbz"]
    tracker.hold("a.cbz")
    clock.now += 10
    assert tracker.poll(sigs.get) == []
    sigs["a.cbz"] = (20, 2)
    tracker.poll(sigs.get)
    clock.now += 2
    assert tracker.poll(sigs.get) == ["a.cbz"]


def _zip(path: Path) -> bytes:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("001.jpg", b"\xff\xd8" + bytes(2000))
        zf.writestr("002.jpg", b"\xff\xd8" + bytes(2000))
    return path.read_bytes()


def test_complete_zip_opens_and_truncated_does_not(tmp_path: Path) -> None:
    data = _zip(tmp_path / "a.cbz")
    assert opens_as_archive(tmp_path / "a.cbz")
    for cut in (4, len(data) // 2, len(data) - 10):
        (tmp_path / "b.cbz").write_bytes(data[:cut])
        assert not opens_as_archive(tmp_path / "b.cbz"), cut


def test_complete_rar_opens_and_truncated_does_not(tmp_path: Path) -> None:
    data = rar_path("pages-rar5.cbr").read_bytes()
    (tmp_path / "a.cbr").write_bytes(data)
    assert opens_as_archive(tmp_path / "a.cbr")
    for cut in (10, len(data) // 2, len(data) - 1):
        (tmp_path / "b.cbz").write_bytes(data[:cut])  # judged by content, whatever the extension
        assert not opens_as_archive(tmp_path / "b.cbz"), cut


def test_non_archive_and_missing_do_not_open(tmp_path: Path) -> None:
    (tmp_path / "a.cbz").write_bytes(b"<html>not a comic</html>")
    assert not opens_as_archive(tmp_path / "a.cbz")
    assert not opens_as_archive(tmp_path / "missing.cbz")
    (tmp_path / "fake.cbr").write_bytes(b"Rar!\x1a\x07\x00" + bytes(20))
    assert not opens_as_archive(tmp_path / "fake.cbr")


def test_fingerprint_tracks_inode(tmp_path: Path) -> None:
    path = tmp_path / "a.cbz"
    _zip(path)
    first = fingerprint_of(path)
    assert first is not None and first[0] == path.stat().st_size
    tmp = tmp_path / ".a.cbz.cm-tmp-1"
    tmp.write_bytes(path.read_bytes())
    tmp.replace(path)
    second = fingerprint_of(path)
    assert second is not None and second[2] != first[2]
    assert fingerprint_of(tmp_path) is None
