"""Which files' paths hold a search, per status, answered from memory: the file list's new searches.

The idea: the file list (``file_list.py``) counts a search as LIKE does, a substring of the relative
path "folder/name" with ASCII letters folded. Testing every path in SQLite costs 20-25 ms at 100,000
files, and every keystroke of a query being typed is a new search. This index holds the folded
paths as a few long strings, one line per file (NUL, then the name), and counts with ``str.count``
over ranges of them: C loops over a few megabytes, no Python step per file.

The invariant: ``search`` answers exactly what LIKE over the files table would, as of the build
plus every change applied since (in the change log's order). Paths hold no NUL (no file system
allows one; one is held as U+FFFD), so a line never holds a query and a NUL never begins a query.

The tricks, by name (each keeps the counts few, short and exact):

- **Folders once.** A query without "/" is in a path iff it is in the folder or in the name. The
  folders are tested once; every file of a matching folder counts, from the number of lines alone.
- **Cut names.** A file name usually begins with its folder's last part ("Saga/Saga - Chapter
  0001.cbz"), so such a name is held without it, cut: " - chapter 0001.cbz".
- **Numbered remainders.** Those remainders repeat from folder to folder, so each distinct one is
  tested once and numbered, and every cut name is also one character, its remainder's number: the
  names holding the query are counted as the occurrences of a few characters. (With very many
  distinct remainders, the cut names are searched as text.)
- **Reversed folders.** A query can span the cut ("saga - chapter 00"): its head ends the folder
  ("saga") and its tail begins the remainder. Folders are ordered by their path reversed, so those
  ending with one head are one range, where the lines beginning with the tail are one ``count`` of
  NUL + tail. A query with "/" spans the folder and the name the same way.
- **Counts that cannot count twice.** A count over text is exact when no line can hold the query
  twice (it begins with NUL, or the lines are shorter than it twice); otherwise a regular
  expression takes one match per line.
- **Rowids by line.** Each kind of line keeps its files' rowids by line number and where each line
  starts; a match's rowid is found by a binary search of the starts (only when matches are listed).
- **Changes beside the build.** Each change since the build (from the store's change log) is held
  as the whole path before and after with its rowid; a search adds the matches after and takes
  away those before. The file list builds a new index when they grow many.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import compress, repeat

from comicmaintainer.library.store.path_lines import (
    LINE,
    Lines,
    LinesBuilder,
    Pick,
    folder_ranges,
    giving_way,
    make_pick,
    once_a_line,
    prefixed,
    rowids_at,
    without,
)

# LIKE folds only the ASCII letters; str.lower would also fold "Ü" or the Kelvin sign.
_LIKE_FOLD = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
# Up to this many distinct remainders, a search tests each of them, and counts the cut names by
# remainder when those holding the query, or those not holding it, are at most _FEW_HELD.
_FEW_REMAINDERS = 4096
_FEW_HELD = 32
_GIVE_WAY_ROWS = 100  # about a tenth of a millisecond of work

Row = tuple[str, str]  # (path folded as LIKE folds it, status)
_Move = tuple[str | None, str | None]  # a change's status before and after (None: no row)


def like_fold(text: str) -> str:
    """``text`` folded as LIKE folds it: ASCII letters only (``lower`` is that, and faster, for ASCII)."""
    return text.lower() if text.isascii() else text.translate(_LIKE_FOLD)


@dataclass(frozen=True)
class Found:
    by_status: dict[str, int]  # status -> matching files
    matches: dict[int, str] | None  # rowid -> status, when no more than asked for


class PathIndex:
    """The library's paths and statuses as of one read, plus the changes applied since."""

    def __init__(self, rows: Iterable[tuple[int, str, str]]) -> None:
        """``rows``: (rowid, path, status) for every file."""
        # Per folder: its files' statuses, names and rowids, in three lists. Not a tuple per file:
        # the garbage collector would walk 100,000 of them in every full collection meanwhile.
        by_folder: dict[str, tuple[list[str], list[str], list[int]]] = {}
        statuses = set()
        for rowid, path, status in giving_way(rows, _GIVE_WAY_ROWS):
            folder, _, name = like_fold(path.replace("\0", "\ufffd")).rpartition("/")
            files = by_folder.get(folder)
            if files is None:
                files = by_folder[folder] = ([], [], [])
            files[0].append(status)
            files[1].append(name)
            files[2].append(rowid)
            statuses.add(status)
        self._statuses = sorted(statuses)
        self._folders = sorted(by_folder, key=lambda folder: folder[::-1])
        self._reversed = [folder[::-1] for folder in self._folders]
        self._leaves = [folder.rpartition("/")[2] for folder in self._folders]
        self._folder_text = LINE.join(self._folders)
        numbers: dict[str, int] = {}  # every remainder, numbered as met
        self._lines = self._lines_of(by_folder, numbers)
        self._remainders = sorted(numbers)  # so those beginning alike are a range
        self._numbered = list(numbers)  # every remainder, by its number
        self._remainder_text = LINE.join(self._numbered)  # one scan tells whether any holds a query
        self._mark = chr(min(len(numbers), _FEW_REMAINDERS))  # the number of no remainder
        # The changes applied since the build: each changed row as it is now (None: deleted); and
        # the changed paths (whole) with their rowids, by (status before, status after) (None: not
        # there). A change of status alone is one entry.
        self._changes = 0
        self._now: dict[int, Row | None] = {}
        self._changed: dict[_Move, tuple[list[str], list[int]]] = {}

    def _lines_of(
        self, by_folder: dict[str, tuple[list[str], list[str], list[int]]], numbers: dict[str, int]
    ) -> dict[tuple[str, bool], Lines]:
        """Each status's names, cut or whole, folder after folder; ``numbers`` filled as it goes. A
        number is one character, so only the first _FEW_REMAINDERS are held (more: none is used)."""
        builders = {(status, cut): LinesBuilder() for status in self._statuses for cut in (True, False)}
        folders = zip(self._folders, self._leaves, strict=True)
        for folder, leaf in giving_way(folders, 1):
            for status, name, rowid in zip(*by_folder[folder], strict=True):
                if leaf and name.startswith(leaf):
                    rest = name[len(leaf) :]
                    number = numbers.setdefault(rest, len(numbers))
                    builders[status, True].add(rest, rowid, number if number < _FEW_REMAINDERS else None)
                else:
                    builders[status, False].add(name, rowid, None)
            for builder in builders.values():
                builder.end_folder()
        return {key: builder.build() for key, builder in builders.items()}

    @property
    def size(self) -> int:
        """How many files there were at the build."""
        return sum(lines.folder_lines[-1] for lines in self._lines.values())

    @property
    def changes(self) -> int:
        """How many changes were applied since the build: every search also searches them."""
        return self._changes

    def apply(self, rowid: int, old: Row | None, new: Row | None) -> None:
        """One change since the build (or the last change applied): the row before and after, its
        path folded as LIKE folds it."""
        self._changes += 1
        self._now[rowid] = new
        if old is not None and new is not None and old[0] == new[0]:
            self._add_changed(rowid, old[0], (old[1], new[1]))
            return
        if old is not None:
            self._add_changed(rowid, old[0], (old[1], None))
        if new is not None:
            self._add_changed(rowid, new[0], (None, new[1]))

    def _add_changed(self, rowid: int, path: str, move: _Move) -> None:
        paths, rowids = self._changed.setdefault(move, ([], []))
        paths.append(path)
        rowids.append(rowid)

    def search(self, needle: str, keep: int) -> Found:
        """The files whose folded path holds ``needle``, per status, and listed when there are
        ``keep`` or fewer."""
        needle = like_fold(needle)  # as the paths are
        if LINE in needle:
            return Found({status: 0 for status in self._statuses}, {})
        matched = self._matched_folders(needle)
        picks = [
            make_pick(cut, "all", "", folder_ranges(matched)) for cut in (True, False)
        ]  # all their files
        picks += self._slash_picks(needle, matched) if "/" in needle else self._name_picks(needle, matched)
        by_status = {status: self._counted(status, needle, picks) for status in self._statuses}
        for (before, after), (paths, _rowids) in self._changed.items():
            held = sum(map(str.__contains__, paths, repeat(needle)))
            for status, sign in ((before, -1), (after, 1)):
                if status is not None:
                    by_status[status] = by_status.get(status, 0) + sign * held
        if sum(by_status.values()) > keep:
            return Found(by_status, None)
        return Found(by_status, self._matches(needle, picks))

    # -- which lines a query picks -------------------------------------------------------------

    def _matched_folders(self, needle: str) -> list[int]:
        """The folders whose path holds ``needle``, tested in C; one scan when none does."""
        if needle not in self._folder_text:
            return []
        holding = map(str.__contains__, self._folders, repeat(needle))
        return list(compress(range(len(self._folders)), holding))

    def _name_picks(self, needle: str, matched: list[int]) -> list[Pick]:
        """A query without "/": the names holding it, or cut names whose folder ends with its head
        and whose remainder begins with its tail, in the folders not matched already."""
        others = without(0, len(self._folders), matched)
        picks = [make_pick(False, "contains", needle, others)]
        spans = self._spans(needle)
        if not self._spans_are_apart(needle, spans):
            # A cut name could be picked twice (its remainder holds the query and begins with a
            # tail): test each whole. Only a contrived query gets here.
            return [*picks, make_pick(True, "each", needle, others)]
        held = self._held_by_remainders(needle)
        if held is not None:
            picks.append(make_pick(True, *held, others))
        for first, last, tail in spans:
            picks.append(make_pick(True, "starts", tail, without(first, last, matched)))
        return picks

    def _held_by_remainders(self, needle: str) -> tuple[str, str] | None:
        """How to pick the cut names whose remainder holds ``needle``: by the numbers of the
        remainders that hold it, or of those that do not, when few; else by searching their text.
        None when no remainder holds it."""
        if needle not in self._remainder_text:
            return None
        if len(self._remainders) > _FEW_REMAINDERS:
            return "contains", needle
        numbered = self._numbered
        held = set(compress(range(len(numbered)), map(str.__contains__, numbered, repeat(needle))))
        if len(held) <= _FEW_HELD:
            return "numbered", "".join(map(chr, sorted(held)))
        if len(held) == len(self._remainders):
            return "all", ""
        if len(self._remainders) - len(held) <= _FEW_HELD:
            return "not numbered", "".join(chr(i) for i in range(len(self._remainders)) if i not in held)
        return "contains", needle

    def _spans(self, needle: str) -> list[tuple[int, int, str]]:
        """(first, last, tail) for each cut of ``needle`` into a head that ends folders first..last
        and a tail that begins some remainder."""
        spans = []
        for k in range(1, len(needle)):
            tail = needle[k:]
            if self._begins_a_remainder(tail):
                first, last = self._ending_with(needle[:k])
                if first < last:
                    spans.append((first, last, tail))
        return spans

    def _spans_are_apart(self, needle: str, spans: list[tuple[int, int, str]]) -> bool:
        """True when no cut name can be picked twice: by a tail and the query, or by two tails."""
        held = needle in self._remainder_text  # one scan: the usual answer, none
        for first, last, tail in spans:
            if held and any(needle in rest for rest in self._remainders_beginning(tail)):
                return False
            for other_first, other_last, other in spans:
                overlap = first < other_last and other_first < last
                longer = len(other) > len(tail) and other.startswith(tail)
                if overlap and longer and self._begins_a_remainder(other):
                    return False
        return True

    def _slash_picks(self, needle: str, matched: list[int]) -> list[Pick]:
        """A query with "/": in folders ending with what precedes its last "/" (``head``), the
        names beginning with what follows it (``tail``); in folders not matched already."""
        head, _, tail = needle.rpartition("/")
        first, last = self._ending_with(head)
        if first < last and self._folders[first] == "":
            first += 1  # files at the root have no "/" in their path
        ranges = without(first, last, matched)
        if not tail:
            return [make_pick(cut, "all", "", ranges) for cut in (True, False)]
        leaves = [(i, self._leaves[i]) for a, b in zip(*ranges, strict=True) for i in range(a, b)]
        # A cut name begins with the tail when its folder's last part does, or begins the tail.
        whole = [i for i, leaf in leaves if leaf.startswith(tail)]
        picks = [make_pick(False, "starts", tail, ranges), make_pick(True, "all", "", folder_ranges(whole))]
        picks += [
            make_pick(True, "starts", tail[len(leaf) :], folder_ranges([i]))
            for i, leaf in leaves
            if tail.startswith(leaf) and not leaf.startswith(tail)
        ]
        return picks

    def _ending_with(self, suffix: str) -> tuple[int, int]:
        """The range of folders whose path ends with ``suffix``: their reversed paths begin with it."""
        return prefixed(self._reversed, suffix[::-1])

    def _remainders_beginning(self, prefix: str) -> list[str]:
        first, last = prefixed(self._remainders, prefix)
        return self._remainders[first:last]

    def _begins_a_remainder(self, prefix: str) -> bool:
        first, last = prefixed(self._remainders, prefix)
        return first < last

    # -- counting and listing ------------------------------------------------------------------

    def _counted(self, status: str, needle: str, picks: list[Pick]) -> int:
        total = 0
        for pick in picks:
            lines = self._lines[status, pick.cut]
            if pick.how != "contains" or needle in lines.text:  # one scan, instead of one a range
                total += self._count(lines, pick)
        return total

    def _count(self, lines: Lines, pick: Pick) -> int:
        """The lines ``pick`` picks, counted range by range in C (``map``), not a Python step each."""
        lines_in = lines.folder_lines.__getitem__
        if pick.how == "all":
            return sum(map(lines_in, pick.lasts)) - sum(map(lines_in, pick.firsts))
        if pick.how in ("numbered", "not numbered"):
            firsts, lasts = list(map(lines_in, pick.firsts)), list(map(lines_in, pick.lasts))
            held = sum(map(self._marked(lines, pick.text).count, repeat(self._mark), firsts, lasts))
            return held if pick.how == "numbered" else sum(lasts) - sum(firsts) - held
        starts = map(lines.folder_chars.__getitem__, pick.firsts)
        ends = map(lines.folder_chars.__getitem__, pick.lasts)
        if pick.how == "starts":
            return sum(map(lines.text.count, repeat(LINE + pick.text), starts, ends))  # a line, one NUL
        if pick.how == "contains" and 2 * len(pick.text) > lines.longest:
            return sum(map(lines.text.count, repeat(pick.text), starts, ends))  # none can hold it twice
        if pick.how == "contains":  # an empty range must count 0, not the empty match findall gives
            once = once_a_line(pick.text).findall
            return sum(len(once(lines.text, s, e)) for s, e in zip(starts, ends, strict=True) if s < e)
        return sum(1 for _ in self._picked(lines, pick))

    def _marked(self, lines: Lines, numbers: str) -> str:
        """The cut names' remainder numbers, those in ``numbers`` replaced by one mark: one count a
        range, however many numbers."""
        if len(numbers) == 1:
            return lines.remainders.replace(numbers, self._mark)
        return lines.remainders.translate(dict.fromkeys(map(ord, numbers), self._mark))

    def _picked(self, lines: Lines, pick: Pick) -> Iterator[int]:
        """The rowids of the lines ``pick`` picks."""
        for folder_first, folder_last in zip(pick.firsts, pick.lasts, strict=True):
            first, last = lines.folder_lines[folder_first], lines.folder_lines[folder_last]
            start, end = lines.folder_chars[folder_first], lines.folder_chars[folder_last]
            if first == last:
                continue
            if pick.how == "all" or (pick.how == "not numbered" and not pick.text):
                yield from lines.rowids[first:last]
            elif pick.how in ("numbered", "not numbered"):
                numbers = "".join(map(re.escape, pick.text))
                which = re.compile(f"[{numbers}]" if pick.how == "numbered" else f"[^{numbers}]")
                yield from (
                    lines.rowids[found.start()] for found in which.finditer(lines.remainders, first, last)
                )
            elif pick.how in ("starts", "contains"):
                text = LINE + pick.text if pick.how == "starts" else pick.text
                at = [found.start() for found in once_a_line(text).finditer(lines.text, start, end)]
                yield from rowids_at(lines, at, first, last)
            else:
                yield from self._each(lines, pick.text, folder_first, folder_last)

    def _each(self, lines: Lines, needle: str, first: int, last: int) -> Iterator[int]:
        """The cut names holding ``needle``, each tested whole, its folder's last part put back."""
        for i in range(first, last):
            leaf, line = self._leaves[i], lines.folder_lines[i]
            for name in lines.text[lines.folder_chars[i] : lines.folder_chars[i + 1]].split(LINE)[1:]:
                if needle in leaf + name:
                    yield lines.rowids[line]
                line += 1

    def _matches(self, needle: str, picks: list[Pick]) -> dict[int, str]:
        found: dict[int, str] = {}
        for status in self._statuses:
            for pick in picks:
                found.update(dict.fromkeys(self._picked(self._lines[status, pick.cut], pick), status))
        for rowid in found.keys() & self._now.keys():  # as built, then changed
            del found[rowid]
        for (_before, after), (paths, rowids) in self._changed.items():
            holding = map(str.__contains__, paths, repeat(needle))
            for rowid in compress(rowids, holding) if after is not None else ():
                row = self._now[rowid]  # a line after a change, but perhaps changed again since
                if row is not None and needle in row[0]:
                    found[rowid] = row[1]
        return found
