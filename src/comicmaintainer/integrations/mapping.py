"""Which library of a reader server holds a changed file, and where that server sees it. Pure.

A server sees the library under its own path (often another container's mount): ``remote_root`` is
the path there of WATCHED_DIR here (empty: the same path). A library is mapped to a folder here
either by hand (``libraries: [{"id", "folder"}]``) or, when none are given, by its own folders
as the server lists them. A file belongs to the library of the longest folder that holds it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

from comicmaintainer.integrations.readers import Library


def remote_root(server: dict[str, Any], local_root: str) -> str:
    return (server.get("remote_root") or local_root).rstrip("/") or "/"


def to_local(remote_path: str, server: dict[str, Any], local_root: str) -> str | None:
    """The folder here (relative, "" = the whole library) of a server path, or None if outside."""
    root = remote_root(server, local_root)
    path = remote_path.rstrip("/") or "/"
    if path == root:
        return ""
    prefix = root if root.endswith("/") else root + "/"
    return path[len(prefix) :] if path.startswith(prefix) else None


def to_remote(rel_folder: str, server: dict[str, Any], local_root: str) -> str:
    root = remote_root(server, local_root)
    return root if not rel_folder else f"{root.rstrip('/')}/{rel_folder}"


def library_folders(
    server: dict[str, Any], listed: Iterable[Library] | None, local_root: str
) -> list[tuple[str, str]]:
    """``(library id, folder here)`` pairs: the hand-made mapping, else the listed libraries' paths."""
    if server.get("libraries"):
        return [(lib["id"], lib["folder"]) for lib in server["libraries"]]
    pairs = []
    for library in listed or ():
        for path in library.paths:
            folder = to_local(path, server, local_root)
            if folder is not None:
                pairs.append((library.id, folder))
    return pairs


def targets(paths: Iterable[str], folders: list[tuple[str, str]]) -> tuple[dict[str, set[str]], set[str]]:
    """Changed files -> {library id: its changed files}, and the files no library holds."""
    by_library: dict[str, set[str]] = {}
    unmapped: set[str] = set()
    for path in paths:
        library = _owner(path, folders)
        if library is None:
            unmapped.add(path)
        else:
            by_library.setdefault(library, set()).add(path)
    return by_library, unmapped


def series_folders(paths: Iterable[str]) -> set[str]:
    """The folders (here) the files sit in: a series folder each, for Komga and Kavita alike."""
    return {"" if (parent := str(PurePosixPath(p).parent)) == "." else parent for p in paths}


def _owner(path: str, folders: list[tuple[str, str]]) -> str | None:
    best: tuple[int, str] | None = None
    for library_id, folder in folders:
        inside = folder == "" or path == folder or path.startswith(folder + "/")
        if inside and (best is None or len(folder) > best[0]):
            best = (len(folder), library_id)
    return None if best is None else best[1]
