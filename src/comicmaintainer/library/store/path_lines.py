"""The path index's building blocks: lines of names in one long string, and ranges of folders.

The idea: a ``Lines`` holds the names of one status and one kind (cut or whole), each line a NUL
and the name, folder after folder in the index's order, with where each folder's lines begin
(in characters and in line numbers), where each line begins, and each line's rowid. A ``Pick``
says which lines a query picks in which folder ranges; ``path_index.PathIndex`` counts them.

The invariant: ``Lines.text`` holds no NUL but the one beginning each line, so a count of NUL +
text is a count of lines beginning with text, and a match never spans two lines.
"""

from __future__ import annotations

import re
import time
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from itertools import compress
from operator import ne
from typing import NamedTuple, TypeVar

LINE = "\0"  # begins every line; a query holding it matches no path
LAST_CHAR = chr(0x10FFFF)
_NEXT = (1).__add__
_PREVIOUS = (-1).__add__
_T = TypeVar("_T")

Ranges = tuple[list[int], list[int]]  # folder ranges: the firsts, and the lasts (excluded)


@dataclass(frozen=True)
class Lines:
    """One status's names of one kind (cut or whole), folder after folder in the index's order."""

    text: str  # lines: NUL, then the name or what follows the folder's last part
    starts: array[int]  # where each line's NUL is in ``text``, by line number
    folder_chars: array[int]  # folder i's lines are text[folder_chars[i] : folder_chars[i + 1]]
    folder_lines: array[int]  # numbered folder_lines[i] to folder_lines[i + 1] (excluded)
    rowids: array[int]  # by line number
    remainders: str  # cut names: the number of each line's remainder, as one character
    longest: int  # the longest name or remainder


class Pick(NamedTuple):
    """The lines of one kind (cut names or whole ones) that ``how`` picks, in the folder ranges
    ``firsts[i]`` to ``lasts[i]`` (excluded): "all"; "starts" with ``text``; "contains" ``text``;
    for cut names, "numbered" with one of the remainder numbers in ``text``, "not numbered" with
    none of them, or "each" tested whole."""

    cut: bool
    how: str
    text: str
    firsts: list[int]
    lasts: list[int]


def make_pick(cut: bool, how: str, text: str, ranges: Ranges) -> Pick:
    return Pick(cut, how, text, *ranges)


class LinesBuilder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.folder_chars = array("q", [0])
        self.folder_lines = array("q", [0])
        self.rowids = array("q")
        self.starts = array("q")
        self.remainders: list[str] = []
        self.size = 0
        self.longest = 0

    def add(self, rest: str, rowid: int, remainder: int | None) -> None:
        line = LINE + rest
        self.starts.append(self.size)
        self.parts.append(line)
        self.size += len(line)
        self.longest = max(self.longest, len(rest))
        self.rowids.append(rowid)
        if remainder is not None:
            self.remainders.append(chr(remainder))

    def end_folder(self) -> None:
        self.folder_chars.append(self.size)
        self.folder_lines.append(len(self.parts))

    def build(self) -> Lines:
        text = "".join(self.parts)
        return Lines(
            text,
            self.starts,
            self.folder_chars,
            self.folder_lines,
            self.rowids,
            "".join(self.remainders),
            self.longest,
        )


def giving_way(items: Iterable[_T], every: int) -> Iterator[_T]:
    """``items``, letting other threads run before every ``every`` of them. A build in a thread of
    its own would otherwise keep a request waiting for the interpreter up to 5 ms each time it
    needs it back (measured at 100,000 files, a page during a build: p95 11 ms, with this 6 ms)."""
    for i, item in enumerate(items):
        if i % every == 0:
            time.sleep(0)
        yield item


def once_a_line(needle: str) -> re.Pattern[str]:
    """``needle`` and the rest of its line: one match a line, however often the line holds it."""
    return re.compile(re.escape(needle) + "[^\0]*")


def rowids_at(lines: Lines, at: list[int], first: int, last: int) -> Iterator[int]:
    """The rowids of the lines (numbered ``first`` to ``last``, excluded) holding the positions
    ``at``: each line found by a binary search of the line starts."""
    line_of = partial(bisect_right, lines.starts, lo=first, hi=last)
    return map(lines.rowids.__getitem__, map(_PREVIOUS, map(line_of, at)))


def folder_ranges(indexes: list[int]) -> Ranges:
    """Folders (sorted indexes) as ranges of consecutive ones, worked out in C."""
    if not indexes:
        return [], []
    nexts = list(map(_NEXT, indexes))
    apart = list(map(ne, indexes[1:], nexts))  # a range ends between the two
    return [indexes[0], *compress(indexes[1:], apart)], [*compress(nexts, apart), nexts[-1]]


def without(first: int, last: int, matched: list[int]) -> Ranges:
    """The folders first..last (excluded) less those ``matched`` (sorted), as ranges (some empty)."""
    firsts, lasts = folder_ranges(matched[bisect_left(matched, first) : bisect_left(matched, last)])
    return [first, *lasts], [*firsts, last]


def prefixed(ordered: list[str], prefix: str) -> tuple[int, int]:
    """The range of ``ordered`` (sorted) whose strings begin with ``prefix``."""
    first = bisect_left(ordered, prefix)
    if not prefix:
        return first, len(ordered)
    if prefix[-1] == LAST_CHAR:
        last = first
        while last < len(ordered) and ordered[last].startswith(prefix):
            last += 1
        return first, last
    return first, bisect_left(ordered, prefix[:-1] + chr(ord(prefix[-1]) + 1), first)
