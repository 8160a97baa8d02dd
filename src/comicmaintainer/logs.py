"""Logging: one rotating log file under CONFIG_DIR/Log, warnings to stderr, and a tail for the UI.

Every module logs through ``logging.getLogger(__name__)``, so all records land under the package
logger ``comicmaintainer``; ``setup_logging`` attaches handlers there, not to the root logger, so
libraries' own chatter and test runners' handlers are left alone.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
from collections import deque
from collections.abc import Iterator
from pathlib import Path

from comicmaintainer.config import Settings

PACKAGE_LOGGER = "comicmaintainer"
BACKUP_COUNT = 3
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_FILE_HANDLER = "comicmaintainer.file"
_STDERR_HANDLER = "comicmaintainer.stderr"
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# A record's first line; later lines of the same record (tracebacks) do not match.
_HEADER = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")
_BLOCK = 64 * 1024


def setup_logging(settings: Settings) -> None:
    """Attach (or update) the file and stderr handlers; safe to call again after settings change."""
    logger = logging.getLogger(PACKAGE_LOGGER)
    logger.setLevel(logging.DEBUG if settings.debug else logging.INFO)
    handlers = {h.get_name(): h for h in logger.handlers}
    _install_file_handler(logger, handlers.get(_FILE_HANDLER), settings)
    if _STDERR_HANDLER not in handlers:
        stderr = logging.StreamHandler(sys.stderr)
        stderr.set_name(_STDERR_HANDLER)
        stderr.setLevel(logging.WARNING)
        stderr.setFormatter(logging.Formatter(LOG_FORMAT))
        logger.addHandler(stderr)


def apply_log_size(settings: Settings) -> None:
    """``log_max_bytes`` changed at run time: the log file rotates at the new size from now on."""
    for handler in logging.getLogger(PACKAGE_LOGGER).handlers:
        if handler.get_name() == _FILE_HANDLER and isinstance(handler, logging.handlers.RotatingFileHandler):
            handler.maxBytes = settings.log_max_bytes


def _install_file_handler(
    logger: logging.Logger, current: logging.Handler | None, settings: Settings
) -> None:
    path = settings.log_path
    if isinstance(current, logging.handlers.RotatingFileHandler) and Path(current.baseFilename) == Path(
        os.path.abspath(path)
    ):
        current.maxBytes = settings.log_max_bytes  # a new size takes effect without reopening
        return
    if current is not None:
        logger.removeHandler(current)
        current.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=settings.log_max_bytes, backupCount=BACKUP_COUNT, encoding="utf-8"
    )
    handler.set_name(_FILE_HANDLER)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logger.addHandler(handler)


def tail(settings: Settings, lines: int = 200, level: str | None = None) -> list[str]:
    """The last ``lines`` lines of the current log file, oldest first.

    With ``level`` (e.g. ``"WARNING"``) only records at or above it are kept; a record's
    continuation lines (a traceback) go with their first line. Reads backwards from the end in
    blocks, so a large log costs only what is shown.
    """
    if lines <= 0:
        return []
    minimum = _level_number(level) if level is not None else None
    picked: deque[str] = deque()
    try:
        for line in _matching_lines(_reverse_lines(settings.log_path), minimum):
            picked.appendleft(line)
            if len(picked) >= lines:
                break
    except FileNotFoundError:
        return []
    return list(picked)


def _level_number(level: str) -> int:
    name = level.strip().upper()
    if name not in _LEVELS:
        raise ValueError(f"unknown log level {level!r}; use one of {', '.join(_LEVELS)}")
    return logging.getLevelNamesMapping()[name]


def _matching_lines(reversed_lines: Iterator[str], minimum: int | None) -> Iterator[str]:
    """Filter lines (newest first) by record level, keeping continuation lines with their record."""
    if minimum is None:
        yield from reversed_lines
        return
    pending: list[str] = []  # continuation lines seen before (i.e. after, in time) their header
    for line in reversed_lines:
        match = _HEADER.match(line)
        if match is None:
            pending.append(line)
            continue
        if logging.getLevelNamesMapping()[match.group(1)] >= minimum:
            yield from pending
            yield line
        pending.clear()


def _reverse_lines(path: Path) -> Iterator[str]:
    """Lines of ``path`` from the last to the first, without the trailing newline."""
    with path.open("rb") as handle:
        position = handle.seek(0, os.SEEK_END)
        carry = b""
        first_block = True
        while position > 0:
            step = min(_BLOCK, position)
            position -= step
            handle.seek(position)
            chunk = handle.read(step) + carry
            parts = chunk.split(b"\n")
            carry = parts.pop(0)  # may be the tail of a line that started in an earlier block
            if first_block and parts and parts[-1] == b"":
                parts.pop()  # the file's final newline does not start another line
            first_block = False
            for raw in reversed(parts):
                yield raw.decode("utf-8", errors="replace")
        if carry or not first_block:
            yield carry.decode("utf-8", errors="replace")
