from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from comicmaintainer.archive import atomic
from comicmaintainer.archive.atomic import (
    Fingerprint,
    atomic_write_bytes,
    fingerprint,
    fsync_dir,
    is_temp_name,
    rename_no_replace,
    temp_path_beside,
)


def test_fingerprint_follows_the_file(tmp_path: Path) -> None:
    path = tmp_path / "f.cbz"
    path.write_bytes(b"12345")
    st = os.stat(path)
    assert fingerprint(path) == Fingerprint(5, st.st_mtime_ns, st.st_ino)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert fingerprint(path) != Fingerprint(5, st.st_mtime_ns, st.st_ino)


def test_temp_names_are_fresh_dotfiles_beside_the_target(tmp_path: Path) -> None:
    target = tmp_path / "Series - Chapter 0001.cbz"
    names = {temp_path_beside(target) for _ in range(50)}
    assert len(names) == 50
    for name in names:
        assert name.parent == tmp_path
        assert name.name.startswith(".Series - Chapter 0001.cbz.cm-tmp-")
        assert is_temp_name(name.name)
    assert not is_temp_name(target.name)


def test_atomic_write_replaces_keeps_mode_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    atomic_write_bytes(path, b"one")
    path.chmod(0o640)
    atomic_write_bytes(path, b"two")
    assert path.read_bytes() == b"two"
    assert path.stat().st_mode & 0o777 == 0o640
    assert os.listdir(tmp_path) == ["config.json"]
    fsync_dir(tmp_path)


def test_atomic_write_failure_keeps_old_content(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    atomic_write_bytes(path, b"old")
    with pytest.raises(TypeError):
        atomic_write_bytes(path, "not bytes")  # type: ignore[arg-type]
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["config.json"]


def test_rename_across_folders(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    src, dst = tmp_path / "a" / "x.cbz", tmp_path / "b" / "y.cbz"
    src.write_bytes(b"data")
    rename_no_replace(src, dst)
    assert not src.exists() and dst.read_bytes() == b"data"


def test_rename_refuses_to_overwrite(tmp_path: Path) -> None:
    src, dst = tmp_path / "src.cbz", tmp_path / "dst.cbz"
    src.write_bytes(b"mine")
    dst.write_bytes(b"theirs")
    with pytest.raises(FileExistsError):
        rename_no_replace(src, dst)
    assert (src.read_bytes(), dst.read_bytes()) == (b"mine", b"theirs")


def test_link_fallback_refuses_to_overwrite_too(tmp_path: Path) -> None:
    src, dst = tmp_path / "src.cbz", tmp_path / "dst.cbz"
    src.write_bytes(b"mine")
    dst.write_bytes(b"theirs")
    with pytest.raises(FileExistsError):
        atomic._link_then_unlink(src, dst)
    assert (src.read_bytes(), dst.read_bytes()) == (b"mine", b"theirs")
    other = tmp_path / "free.cbz"
    atomic._link_then_unlink(src, other)
    assert not src.exists() and other.read_bytes() == b"mine"


def _race_once(folder: Path, mover: Callable[[Path, Path], None]) -> None:
    sources = [folder / "one.cbz", folder / "two.cbz"]
    for src in sources:
        src.write_bytes(src.name.encode())
    dst = folder / "target.cbz"
    barrier = threading.Barrier(2)
    outcome: dict[str, str] = {}

    def move(src: Path) -> None:
        barrier.wait()
        try:
            mover(src, dst)
            outcome[src.name] = "won"
        except FileExistsError:
            outcome[src.name] = "lost"

    threads = [threading.Thread(target=move, args=(src,)) for src in sources]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcome.values()) == ["lost", "won"]
    winner = next(name for name, result in outcome.items() if result == "won")
    loser = next(name for name, result in outcome.items() if result == "lost")
    assert dst.read_bytes() == winner.encode()
    assert (folder / loser).read_bytes() == loser.encode()
    assert not (folder / winner).exists()


def test_two_threads_racing_for_one_name(tmp_path: Path) -> None:
    for round_ in range(30):
        folder = tmp_path / str(round_)
        folder.mkdir()
        _race_once(folder, rename_no_replace)


def test_two_threads_racing_through_the_link_fallback(tmp_path: Path) -> None:
    # The path taken on filesystems whose driver lacks RENAME_NOREPLACE.
    for round_ in range(30):
        folder = tmp_path / str(round_)
        folder.mkdir()
        _race_once(folder, atomic._link_then_unlink)


def test_cross_device_move(tmp_path: Path, small_tmpfs) -> None:
    other = small_tmpfs("1m")
    src = tmp_path / "here.cbz"
    src.write_bytes(b"x" * 1000)
    src.chmod(0o604)
    dst = other / "there.cbz"
    rename_no_replace(src, dst)
    assert not src.exists()
    assert dst.read_bytes() == b"x" * 1000
    assert dst.stat().st_mode & 0o777 == 0o604
    assert os.listdir(other) == ["there.cbz"]


def test_cross_device_move_refuses_to_overwrite(tmp_path: Path, small_tmpfs) -> None:
    other = small_tmpfs("1m")
    src, dst = tmp_path / "here.cbz", other / "there.cbz"
    src.write_bytes(b"mine")
    dst.write_bytes(b"theirs")
    with pytest.raises(FileExistsError):
        rename_no_replace(src, dst)
    assert (src.read_bytes(), dst.read_bytes()) == (b"mine", b"theirs")
    assert os.listdir(other) == ["there.cbz"]
