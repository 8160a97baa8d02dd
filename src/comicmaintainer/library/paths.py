"""Library paths: relative POSIX strings inside WATCHED_DIR, and the one gate that turns them into real paths.

Anything that comes from outside (a URL, a form, a CLI argument, a watcher event) names a file by
its relative path; ``resolve_inside`` is the only way to reach the disk with it, so a crafted name
(``../``, an absolute path, a NUL byte, a symlink pointing elsewhere) can never touch a file
outside the library.
"""

from __future__ import annotations

import os
from pathlib import Path


class PathError(ValueError):
    """A path that is not inside the library; ``str()`` is one plain line."""


# Linux's limits (NAME_MAX, PATH_MAX); longer names cannot exist, and asking the OS fails with ENAMETOOLONG.
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4096


def resolve_inside(root: Path, rel: str) -> Path:
    """``root / rel`` after checking that ``rel`` is a plain relative path that stays inside ``root``.

    Symlinks are allowed while they, at every level, lead to somewhere inside ``root``.
    The returned path keeps the caller's spelling of ``root`` (it is not the resolved path), so a
    symlinked file is addressed by its own name.
    """
    _check_shape(rel)
    candidate = root / rel
    try:
        real_root = root.resolve()
        real = candidate.resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
        raise PathError(f"path {rel!r} cannot be resolved: {exc}") from None
    if real == real_root or not real.is_relative_to(real_root):
        raise PathError(f"path {rel!r} leads outside the library")
    return candidate


def to_rel(root: Path, path: Path) -> str:
    """``path`` as a POSIX string relative to ``root`` (``""`` for the root itself).

    Accepts ``path`` spelled through ``root`` as given or through its resolved form (watchdog
    reports the spelling it was started with; ``Path.resolve`` gives the other). The last
    component is not resolved, so a symlink is named by its own name.
    """
    path = Path(path)
    spellings = [Path(os.path.abspath(path))]
    if path.parent != path:
        spellings.append(Path(os.path.abspath(path)).parent.resolve() / path.name)
    roots = [Path(os.path.abspath(root)), root.resolve()]
    for spelled in spellings:
        for base in roots:
            if spelled.is_relative_to(base):
                rel = spelled.relative_to(base).as_posix()
                return "" if rel == "." else rel
    raise PathError(f"{path} is outside the library {root}")


def _check_shape(rel: str) -> None:
    if not isinstance(rel, str) or not rel:
        raise PathError("an empty path does not name a file in the library")
    shown = repr(rel)
    if "\x00" in rel:
        raise PathError(f"path {shown} contains a NUL byte")
    if "\\" in rel:
        # Refused outright: on Windows clients and some tools a backslash acts as a separator,
        # which would let "..\\" slip past the segment check below.
        raise PathError(f"path {shown} contains a backslash")
    if rel.startswith("/"):
        raise PathError(f"path {shown} is absolute; give it relative to the library")
    if len(rel.encode("utf-8", "surrogateescape")) > MAX_PATH_BYTES:
        raise PathError(f"path of {len(rel)} characters is longer than any file system allows")
    for segment in rel.split("/"):
        if segment in ("", ".", ".."):
            raise PathError(f"path {shown} has an empty, '.' or '..' segment")
        if len(segment.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
            raise PathError(f"a name in path {shown[:80]}… is longer than {MAX_NAME_BYTES} bytes")
