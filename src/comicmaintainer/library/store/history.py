"""History: every change the library makes to a file, recorded for undo and for recovery.

A change is recorded ``pending`` before it happens on disk and set ``done`` after (or
``rolled_back``, or later ``undone``); a ``pending`` one left over means the program died
mid-change, and start-up recovery settles it (migration 0001, table ``actions``).
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from enum import StrEnum

from comicmaintainer.library.store.database import Database


class ActionState(StrEnum):
    PENDING = "pending"  # recorded before the change on disk; left over only if the program died
    DONE = "done"
    UNDONE = "undone"
    ROLLED_BACK = "rolled_back"


@dataclass(frozen=True)
class Action:
    """One recorded change, for history and undo."""

    id: int
    at: float
    kind: str
    old_path: str | None
    new_path: str | None
    old_xml: bytes | None
    new_xml: bytes | None
    state: ActionState


class History(Database):
    """The history table's reads and writes; ``Store`` has them as its own."""

    def record_action(
        self,
        kind: str,
        old_path: str | None,
        new_path: str | None,
        old_xml: bytes | None,
        new_xml: bytes | None,
        state: ActionState | str = ActionState.DONE,
    ) -> int:
        """Store one change; returns its id."""
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO actions (at, kind, old_path, new_path, old_xml, new_xml, state)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (time.time(), kind, old_path, new_path, old_xml, new_xml, ActionState(state).value),
            )
            action_id = cursor.lastrowid
        assert action_id is not None  # an INSERT into a rowid table always sets it
        return action_id

    def set_action_state(self, action_id: int, state: ActionState | str) -> None:
        with self._write() as conn:
            conn.execute("UPDATE actions SET state = ? WHERE id = ?", (ActionState(state).value, action_id))

    def get_action(self, action_id: int) -> Action | None:
        rows = self._read("SELECT * FROM actions WHERE id = ?", (action_id,))
        return _action(rows[0]) if rows else None

    def list_actions(self, limit: int = 50) -> list[Action]:
        """The newest ``limit`` actions, newest first."""
        rows = self._read("SELECT * FROM actions ORDER BY id DESC LIMIT ?", (limit,))
        return [_action(row) for row in rows]

    def pending_actions(self) -> list[Action]:
        """Actions recorded but never finished (the program stopped mid-change), oldest first."""
        rows = self._read(_PENDING_SQL)
        return [_action(row) for row in rows]


def _action(row: sqlite3.Row) -> Action:
    return Action(
        id=row["id"],
        at=row["at"],
        kind=row["kind"],
        old_path=row["old_path"],
        new_path=row["new_path"],
        old_xml=row["old_xml"],
        new_xml=row["new_xml"],
        state=ActionState(row["state"]),
    )


# The value in the statement's text, not a bound parameter: only then does SQLite use the partial
# index actions_pending (0001). A constant of this module.
_PENDING_SQL = f"SELECT * FROM actions WHERE state = '{ActionState.PENDING}' ORDER BY id"  # noqa: S608  # nosec B608
