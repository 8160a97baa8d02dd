"""Where a job item's file is now, followed by what moved it rather than by the clock.

A job lists its files when it is made; by the time a worker reaches one, another job may have
renamed it or set it aside, or the job's own run that a restart interrupted may have. Three rules:

* **One item per file at a time.** A worker holds the item's path on the trail while it runs the
  item, and a worker of another job with the same path waits for it. So the second job looks only
  once the first one's move is complete and recorded.
* **The engine's own moves.** Every item whose file left its path is recorded as a `Move`
  (old path -> new path, by which job), numbered in order. A job follows the moves numbered after
  the moment it was made (`Live.since_move`): a move still in flight when the job listed the file
  counts, a move finished before it does not (the file then at that path was another one).
  Recording happens before the path is released, so no waiting job can miss it.
* **Moves by an interrupted run.** A restarted job also follows the history actions recorded on
  the path since the job was made: those are its own run's, which died before telling anyone.

The record of moves is bounded (`MAX_MOVES`, newest kept); a job would have to wait behind that
many moves of other jobs before reaching its item for one of its files to be lost from it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from comicmaintainer.library.paths import PathError, resolve_inside
from comicmaintainer.library.store import JobStore, Store

log = logging.getLogger("comicmaintainer.jobs")

MAX_MOVES = 100_000
MAX_HOPS = 8  # a file moved again and again is followed this far


@dataclass(frozen=True)
class Move:
    number: int
    new_path: str | None  # None: the file left the library (set aside as a duplicate)
    job_id: int
    note: str


class Trail:
    """Paths being worked on and the moves the engine's jobs made. Thread-safe."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._working: dict[str, int] = {}  # path -> the job whose item runs on it now
        self._moves: dict[str, Move] = {}  # old path -> its newest move, oldest first
        self._count = 0

    @property
    def position(self) -> int:
        """The number of the newest move; a job made now follows only moves after it."""
        return self._count

    @contextmanager
    def working(self, path: str, job_id: int) -> Iterator[None]:
        """Hold ``path`` for one item of ``job_id``; waits while an item of another job holds it."""
        with self._changed:
            while self._working.get(path, job_id) != job_id:
                self._changed.wait()
            self._working[path] = job_id
        try:
            yield
        finally:
            with self._changed:
                self._working.pop(path, None)
                self._changed.notify_all()

    def moved(self, old_path: str, new_path: str | None, job_id: int, note: str) -> None:
        with self._changed:
            self._count += 1
            self._moves.pop(old_path, None)  # re-inserted last: the dict stays in move order
            self._moves[old_path] = Move(self._count, new_path, job_id, note)
            if len(self._moves) > MAX_MOVES:
                del self._moves[next(iter(self._moves))]

    def move_of(self, path: str, since: int) -> Move | None:
        with self._changed:
            move = self._moves.get(path)
        return move if move is not None and move.number > since else None


@dataclass(frozen=True)
class Found:
    """Where the file is (``path``; None when it left the library) and who moved it there."""

    path: str | None
    by_job: int | None = None
    note: str | None = None


def locate(rel: str, *, root: Path, trail: Trail, since_move: int, store: Store, since: float) -> Found:
    """Follow the file of an item listed as ``rel``; see the module docstring."""
    jobs = JobStore(store)
    found = Found(rel)
    for _ in range(MAX_HOPS):
        if is_file(root, rel):
            return found
        move = trail.move_of(rel, since_move)
        if move is not None:
            found = Found(move.new_path, move.job_id, move.note)
            if move.new_path is None:
                return found
            rel = move.new_path
            continue
        moved = _moved_by_interrupted_run(rel, root, jobs, since)
        if moved is None:
            return found  # gone: the pipeline reports it as vanished, in its own words
        if store.get_file(moved) is None:
            store.move_file(rel, moved)  # the run died before the store heard of the rename
        log.info("%s was renamed to %s by an interrupted run; continuing there", rel, moved)
        rel = moved
        found = Found(rel, found.by_job, found.note)
    return found


def _moved_by_interrupted_run(rel: str, root: Path, jobs: JobStore, since: float) -> str | None:
    actions = jobs.actions_from(rel, since)
    return next(
        (a.new_path for a in actions
         if a.kind == "process" and a.new_path and a.new_path != rel and is_file(root, a.new_path)),
        None,
    )  # fmt: skip


def move_of_result(result: dict[str, Any]) -> tuple[str | None, str] | None:
    """Where the pipeline moved the file (None: out of the library) and what it did; None if it stayed."""
    if result.get("moved_to"):
        return None, f"set aside as a duplicate of {result.get('duplicate_of')}"
    if result.get("new_path") and result["new_path"] != result.get("path"):
        return result["new_path"], f"renamed to {result['new_path']}"
    return None


def is_file(root: Path, rel: str) -> bool:
    try:
        return resolve_inside(root, rel).is_file()
    except PathError:
        return False
