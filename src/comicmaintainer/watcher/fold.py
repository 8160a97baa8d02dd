"""Fold a burst of raw filesystem events into one plan: a pure function, no filesystem.

A download client, a sync tool or ``cp -r`` produces a storm of events for a handful of real
changes. ``fold`` reduces a batch to what the library must do about it:

- ``to_forget``: rows to drop (files deleted or moved out of sight), as paths at the *start* of
  the batch;
- ``folder_moves``: whole folders renamed, in order; every row beneath follows, nothing is
  reprocessed;
- ``moves``: single files renamed, ``(old, new)``, old as it stands once the folder moves are
  applied, ordered so that no move lands on a row another move still has to carry away;
- ``to_check``: paths whose content is new or changed, to process once stable;
- ``scan_folders``: folders that appeared with content (moved in from outside the library or out
  of a hidden folder) whose archives must all be checked;
- ``rescan``: the batch cannot be expressed row by row (a folder vanished, a rename cycle); the
  caller reconciles the whole library instead.

The plan is applied in that order: forget, folder moves, moves, rescan, scan folders, check.

How it works: while walking the batch we keep, for each path touched, where its database row
came from (``origin``: the row's key at the start of the batch, or ``None`` for content born in
this batch) and whether its content changed (``dirty``). Folder renames rename those keys as
they happen, so every later event is read in the namespace of its own moment.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from comicmaintainer.watcher.events import Created, Deleted, Event, Modified, Moved

ARCHIVE_SUFFIXES = (".cbz", ".cbr")
# Browsers and download clients write under these names and rename when complete.
PARTIAL_SUFFIXES = (".part", ".crdownload", ".tmp")


def is_hidden(rel: str) -> bool:
    """True for dotfiles and anything inside a dot-folder (our own temp files are dotfiles)."""
    return any(part.startswith(".") for part in rel.split("/") if part)


def is_comic(rel: str) -> bool:
    """True for a visible ``.cbz``/``.cbr`` (any case) that is not a partial download."""
    lower = rel.lower()
    return lower.endswith(ARCHIVE_SUFFIXES) and not lower.endswith(PARTIAL_SUFFIXES) and not is_hidden(rel)


def is_watched_folder(rel: str) -> bool:
    return not is_hidden(rel)


def is_under(path: str, folder: str) -> bool:
    """True if ``path`` is ``folder`` or lies beneath it (``""`` is the root, above everything)."""
    return folder == "" or path == folder or path.startswith(folder + "/")


def reparent(path: str, old: str, new: str) -> str:
    """The path ``path`` takes when folder ``old`` is renamed to ``new``."""
    if path == old:
        return new
    return new + path[len(old) :] if old else f"{new}/{path}"


@dataclass(frozen=True, slots=True)
class Plan:
    to_check: frozenset[str] = frozenset()
    to_forget: frozenset[str] = frozenset()
    moves: tuple[tuple[str, str], ...] = ()
    folder_moves: tuple[tuple[str, str], ...] = ()
    scan_folders: frozenset[str] = frozenset()
    rescan: bool = False

    def is_empty(self) -> bool:
        work = (self.to_check, self.to_forget, self.moves, self.folder_moves, self.scan_folders)
        return not (any(work) or self.rescan)


def fold(events: Sequence[Event]) -> Plan:
    """Reduce a batch of events (in arrival order) to one plan."""
    state = _Fold()
    for event in events:
        state.apply(event)
    return state.plan()


class _Fold:
    """The mutable scratchpad behind ``fold``; never escapes it."""

    def __init__(self) -> None:
        self.origin: dict[str, str | None] = {}
        self.dirty: set[str] = set()
        self.gone: set[str] = set()
        self.folder_moves: list[tuple[str, str]] = []
        self.scan: set[str] = set()
        self.rescan = False

    def apply(self, event: Event) -> None:
        if isinstance(event, Moved):
            self._moved(event)
        elif event.is_dir:
            self._folder_event(event)
        elif not is_comic(event.path):
            return
        elif isinstance(event, Created):
            self._created(event.path)
        elif isinstance(event, Modified):
            self.dirty.add(event.path)
        else:
            self._drop(event.path)

    # -- files ---------------------------------------------------------------------------------

    def _created(self, path: str) -> None:
        self.origin.setdefault(path, None)
        self.dirty.add(path)

    def _drop(self, path: str) -> None:
        self.dirty.discard(path)
        row = self.origin.pop(path) if path in self.origin else self._start_key(path)
        if row is not None:
            self.gone.add(row)

    def _move_file(self, src: str, dest: str) -> None:
        if src not in self.origin and src not in self.dirty and self._through(src) == dest:
            return  # echo of a folder rename already recorded (polling and synthetic sub-events)
        row = self.origin.pop(src) if src in self.origin else self._start_key(src)
        was_dirty = src in self.dirty
        self.dirty.discard(src)
        replaced = self.origin.pop(dest, None)
        if replaced is not None and replaced != row:
            self.gone.add(replaced)  # a row carried here earlier in the batch was overwritten
        self.dirty.discard(dest)
        self.origin[dest] = row
        if row is None or was_dirty:
            self.dirty.add(dest)

    def _moved(self, event: Moved) -> None:
        if event.is_dir:
            self._moved_folder(event.src, event.dest)
            return
        src_ok, dest_ok = is_comic(event.src), is_comic(event.dest)
        if src_ok and dest_ok:
            self._move_file(event.src, event.dest)
        elif src_ok:
            self._drop(event.src)  # renamed to a name we ignore: gone from the library
        elif dest_ok:
            self._created(event.dest)  # a finished download or our own temp file taking its place

    # -- folders -------------------------------------------------------------------------------

    def _folder_event(self, event: Created | Modified | Deleted) -> None:
        if not is_watched_folder(event.path):
            return
        if isinstance(event, Created):
            self.scan.add(event.path)
        elif isinstance(event, Deleted):
            self._folder_gone(event.path)

    def _moved_folder(self, src: str, dest: str) -> None:
        src_ok, dest_ok = is_watched_folder(src), is_watched_folder(dest)
        if src_ok and dest_ok:
            self.folder_moves.append((src, dest))
            self.origin = {self._re(k, src, dest): v for k, v in self.origin.items()}
            self.dirty = {self._re(p, src, dest) for p in self.dirty}
            self.scan = {self._re(p, src, dest) for p in self.scan}
        elif src_ok:
            self._folder_gone(src)
        elif dest_ok:
            self.scan.add(dest)

    def _folder_gone(self, folder: str) -> None:
        # Which rows lived beneath is the store's knowledge, not ours: reconcile the whole library.
        self.rescan = True
        for path in [p for p in self.origin if is_under(p, folder)]:
            self._drop(path)
        self.dirty = {p for p in self.dirty if not is_under(p, folder)}
        self.scan = {p for p in self.scan if not is_under(p, folder)}

    @staticmethod
    def _re(path: str, old: str, new: str) -> str:
        return reparent(path, old, new) if is_under(path, old) else path

    def _start_key(self, path: str) -> str:
        """Where the row now at ``path`` sat at the start of the batch (undo the folder renames)."""
        for old, new in reversed(self.folder_moves):
            path = self._re(path, new, old)
        return path

    def _through(self, path: str) -> str:
        """Where a start-of-batch row ends up once the folder renames are applied."""
        for old, new in self.folder_moves:
            path = self._re(path, old, new)
        return path

    # -- result --------------------------------------------------------------------------------

    def plan(self) -> Plan:
        pending = [(self._through(row), dest) for dest, row in self.origin.items() if row is not None]
        moves, stuck = _order_moves([(old, new) for old, new in pending if old != new])
        return Plan(
            to_check=frozenset(self.dirty | {new for _, new in stuck}),
            to_forget=frozenset(self.gone),
            moves=tuple(moves),
            folder_moves=tuple(self.folder_moves),
            scan_folders=frozenset(self.scan),
            rescan=self.rescan or bool(stuck),
        )


def _order_moves(moves: Iterable[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Order moves so none lands on a row that another move has yet to carry away.

    Returns (ordered, stuck): ``stuck`` are the moves caught in a cycle (a swap through a
    temporary name); the caller falls back to a full reconcile for those.
    """
    remaining = sorted(moves)
    ordered: list[tuple[str, str]] = []
    while remaining:
        sources = {old for old, _ in remaining}
        ready = [m for m in remaining if m[1] not in sources]
        if not ready:
            return ordered, remaining
        ordered.extend(ready)
        taken = set(ready)
        remaining = [m for m in remaining if m not in taken]
    return ordered, []
