"""Errors raised by the archive layer.

Every message is one plain line a person can read in a log or on the web page:
no traceback, no newline, no library jargon where a plainer word will do.
"""

from __future__ import annotations

import errno
from pathlib import Path


def one_line(text: object, limit: int = 300) -> str:
    """Squash any text (an exception message, a file name) onto one short line."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class ArchiveError(Exception):
    """A comic archive could not be read or written; ``str()`` is one plain line."""

    def __init__(self, message: object) -> None:
        super().__init__(one_line(message))

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnsupportedArchive(ArchiveError):
    """The file is not an archive we can handle (unknown format, password, multi-volume RAR)."""


class CorruptArchive(ArchiveError):
    """The file claims to be an archive but is damaged (truncated, bad CRC, broken XML)."""


class InvalidTagValue(ArchiveError, ValueError):
    """A tag value cannot be stored in ComicInfo.xml (for example a year that is not a number)."""


class FileVanished(ArchiveError):
    """The file was not there any more when we came to read or replace it."""


def disk_error(exc: OSError, target: Path, *, vanished: Path | None = None) -> ArchiveError:
    """One plain line for an OSError met while writing ``target`` (a file inside its folder)."""
    code = exc.errno
    if code in (errno.ENOSPC, errno.EDQUOT):
        return ArchiveError(f"disk full while writing {target.name}")
    if code == errno.EFBIG:
        return ArchiveError(f"file size limit reached while writing {target.name}")
    if code == errno.EROFS:
        return ArchiveError(f"folder is read-only: {target.parent}")
    if code in (errno.EACCES, errno.EPERM):
        return ArchiveError(f"folder is read-only (permission denied): {target.parent}")
    if isinstance(exc, FileNotFoundError):
        return FileVanished(f"file vanished while writing: {(vanished or target).name}")
    return ArchiveError(f"could not write {target.name}: {exc.strerror or exc}")
