"""The path gate: nothing outside the library is reachable, symlinks included."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from comicmaintainer.library.paths import PathError, resolve_inside, to_rel


@pytest.fixture
def root(tmp_path: Path) -> Path:
    library = tmp_path / "library"
    (library / "Series").mkdir(parents=True)
    (library / "Series" / "a.cbz").write_bytes(b"PK")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.cbz").write_bytes(b"PK")
    return library


def refused(root: Path, rel: str) -> str:
    with pytest.raises(PathError) as info:
        resolve_inside(root, rel)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_plain_paths_resolve(root: Path) -> None:
    assert resolve_inside(root, "Series/a.cbz") == root / "Series" / "a.cbz"
    assert resolve_inside(root, "Series") == root / "Series"
    # a target that does not exist yet (a rename destination) is fine
    assert resolve_inside(root, "Series/new name.cbz") == root / "Series" / "new name.cbz"


@pytest.mark.parametrize(
    "rel",
    [
        "../outside/secret.cbz",
        "Series/../../outside/secret.cbz",
        "Series/..",
        "..",
        "./Series/a.cbz",
        "Series//a.cbz",
    ],
)
def test_dot_segments_refused(root: Path, rel: str) -> None:
    assert "segment" in refused(root, rel)


def test_absolute_empty_nul_backslash_refused(root: Path) -> None:
    assert "absolute" in refused(root, str(root / "Series" / "a.cbz"))
    assert "absolute" in refused(root, "/etc/passwd")
    assert "empty" in refused(root, "")
    assert "NUL" in refused(root, "Series/a.cbz\x00.txt")
    assert "backslash" in refused(root, "..\\outside\\secret.cbz")
    assert "backslash" in refused(root, "Series\\a.cbz")


def test_symlink_out_refused_at_any_level(root: Path, tmp_path: Path) -> None:
    os.symlink(tmp_path / "outside", root / "escape")
    os.symlink(tmp_path / "outside" / "secret.cbz", root / "Series" / "leak.cbz")
    assert "outside the library" in refused(root, "escape")
    assert "outside the library" in refused(root, "escape/secret.cbz")
    assert "outside the library" in refused(root, "Series/leak.cbz")
    assert "outside the library" in refused(root, "escape/not-yet.cbz")


def test_symlink_loop_refused(root: Path) -> None:
    os.symlink(root / "loop", root / "loop")
    refused(root, "loop/a.cbz")


def test_symlink_inside_is_fine(root: Path) -> None:
    os.symlink(root / "Series", root / "Alias")
    os.symlink("a.cbz", root / "Series" / "same.cbz")
    assert resolve_inside(root, "Alias/a.cbz") == root / "Alias" / "a.cbz"
    assert resolve_inside(root, "Series/same.cbz") == root / "Series" / "same.cbz"


def test_root_reached_through_a_symlink(tmp_path: Path, root: Path) -> None:
    link = tmp_path / "link-to-library"
    os.symlink(root, link)
    assert resolve_inside(link, "Series/a.cbz") == link / "Series" / "a.cbz"
    assert to_rel(link, link / "Series" / "a.cbz") == "Series/a.cbz"
    assert to_rel(link, root / "Series" / "a.cbz") == "Series/a.cbz"
    assert to_rel(root, link / "Series" / "a.cbz") == "Series/a.cbz"


def test_to_rel(root: Path, tmp_path: Path) -> None:
    assert to_rel(root, root / "Series" / "a.cbz") == "Series/a.cbz"
    assert to_rel(root, root / "Series") == "Series"
    assert to_rel(root, root) == ""
    with pytest.raises(PathError, match="outside the library"):
        to_rel(root, tmp_path / "outside" / "secret.cbz")
    with pytest.raises(PathError):
        to_rel(root, root / ".." / "outside" / "secret.cbz")


def test_to_rel_keeps_a_symlinked_file_name(root: Path) -> None:
    os.symlink("a.cbz", root / "Series" / "same.cbz")
    assert to_rel(root, root / "Series" / "same.cbz") == "Series/same.cbz"


def test_round_trip(root: Path) -> None:
    rel = "Series/a.cbz"
    assert to_rel(root, resolve_inside(root, rel)) == rel


def test_names_longer_than_the_file_system_allows_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PathError, match="longer than 255 bytes"):
        resolve_inside(tmp_path, "a/" + "x" * 256 + ".cbz")
    with pytest.raises(PathError, match="longer than any file system allows"):
        resolve_inside(tmp_path, "/".join(["y" * 200] * 30))
    assert resolve_inside(tmp_path, "x" * 255) == tmp_path / ("x" * 255)
