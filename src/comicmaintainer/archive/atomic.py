"""Crash-safe file operations: temp files beside the target, fsync, no-replace renames.

The rules every writer in the program follows:

* new content goes to a temp dotfile in the *same* folder (``temp_path_beside``), so the final
  move is a rename on one filesystem and a watcher ignores the dotfile;
* the temp file is fsynced before the rename and the folder after it, so a power cut leaves
  either the old file or the new one, never a mix;
* moving a file to a new name never overwrites something already there (``rename_no_replace``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from comicmaintainer.archive import unflushed

_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_TEMP_MARK = ".cm-tmp-"


@dataclass(frozen=True)
class Fingerprint:
    """What we remember of a file to notice that someone else changed it."""

    size: int
    mtime_ns: int
    inode: int


def fingerprint(path: Path) -> Fingerprint:
    st = os.stat(path)
    return Fingerprint(size=st.st_size, mtime_ns=st.st_mtime_ns, inode=st.st_ino)


def temp_path_beside(path: Path) -> Path:
    """A fresh temp name next to ``path``: ``.<name>.cm-tmp-<random>`` (a dotfile watchers skip)."""
    return path.with_name(f".{path.name}{_TEMP_MARK}{secrets.token_hex(6)}")


def is_temp_name(name: str) -> bool:
    """True for names made by :func:`temp_path_beside` (leftovers of a crash may be swept)."""
    return name.startswith(".") and _TEMP_MARK in name


def fsync_dir(path: Path) -> None:
    """Make the folder's entries (a rename, a new file) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create_exclusive(path: Path) -> int:
    """Open a new file for writing, failing if the name exists; mode 0o666 less the umask."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new content, never a part."""
    tmp = temp_path_beside(path)
    fd = create_exclusive(tmp)
    try:
        try:
            if path.exists():
                os.fchmod(fd, os.stat(path).st_mode & 0o7777)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


# --- rename without replacing ---------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _renameat2() -> Callable[..., int] | None:
    """libc's renameat2, or None where libc lacks it (musl before 1.2.5, non-Linux systems)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def _try_renameat2(src: Path, dst: Path) -> bool:
    """Rename with RENAME_NOREPLACE. False when the kernel or filesystem cannot do it."""
    fn = _renameat2()
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False  # e.g. some network or FUSE filesystems: fall back below
    raise OSError(err, os.strerror(err), str(src), None, str(dst))


def _link_then_unlink(src: Path, dst: Path) -> None:
    """No-replace move for filesystems without renameat2 flags.

    ``link`` fails with EEXIST instead of overwriting, which is exactly the guarantee we need;
    the price is a moment in which both names exist (harmless: same inode). Filesystems without
    hard links (FAT, some shares) get a reserved empty placeholder that ``os.replace`` swaps in
    for: the name is ours alone once O_EXCL succeeded, so nothing of anyone else is replaced.
    """
    try:
        os.link(src, dst, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK):
            raise
        os.close(create_exclusive(dst))
        os.replace(src, dst)
        return
    os.unlink(src)


def _place_no_replace(src: Path, dst: Path) -> None:
    """Same-filesystem no-replace move."""
    if not _try_renameat2(src, dst):
        _link_then_unlink(src, dst)


def _copy_across(src: Path, dst: Path) -> None:
    """Cross-device move: copy beside ``dst``, fsync, link into place no-replace, then drop ``src``."""
    if dst.exists() or dst.is_symlink():
        raise FileExistsError(errno.EEXIST, "destination exists", str(dst))
    tmp = temp_path_beside(dst)
    try:
        with open(src, "rb") as reader, os.fdopen(create_exclusive(tmp), "wb") as writer:
            shutil.copyfileobj(reader, writer, 1 << 20)
            writer.flush()
            shutil.copystat(src, tmp)
            os.fsync(writer.fileno())
        _place_no_replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(dst.parent)
    os.unlink(src)
    fsync_dir(src.parent)


def rename_no_replace(src: Path, dst: Path) -> None:
    """Move ``src`` to ``dst``; raise FileExistsError rather than overwrite anything at ``dst``.

    Works across folders of one filesystem (atomic) and across filesystems (copy, then remove).
    Both folders are fsynced afterwards.
    """
    src, dst = Path(src), Path(dst)
    unflushed.wait(src)  # an in-place write's record names ``src``: it must be cleared first
    try:
        _place_no_replace(src, dst)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        _copy_across(src, dst)
        return
    fsync_dir(dst.parent)
    if src.parent != dst.parent:
        fsync_dir(src.parent)
