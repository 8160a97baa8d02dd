"""Immutable records of raw filesystem events, the watcher's input vocabulary.

The observer's callbacks turn watchdog's events into these records as fast as possible and
put them on a queue; everything after that (folding a batch into a plan, deciding what is
stable) works on plain values, so it can be tested without a filesystem.

Paths are POSIX strings relative to the watched root. ``at`` is a ``time.monotonic()`` reading:
wall-clock time can jump, and the debounce logic only ever needs durations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Created:
    path: str
    is_dir: bool = False
    at: float = 0.0
    kind: Literal["created"] = "created"


@dataclass(frozen=True, slots=True)
class Modified:
    path: str
    is_dir: bool = False
    at: float = 0.0
    kind: Literal["modified"] = "modified"


@dataclass(frozen=True, slots=True)
class Deleted:
    path: str
    is_dir: bool = False
    at: float = 0.0
    kind: Literal["deleted"] = "deleted"


@dataclass(frozen=True, slots=True)
class Moved:
    src: str
    dest: str
    is_dir: bool = False
    at: float = 0.0
    kind: Literal["moved"] = "moved"


Event = Created | Modified | Deleted | Moved
