"""Each status and kind is defined once, in library/store/statuses.py: the schema's CHECKs, read
back from a migrated database, list exactly the enums' values."""

from __future__ import annotations

import re
import sqlite3
from enum import StrEnum
from pathlib import Path

import pytest

from comicmaintainer.library.store import ActionState, ItemStatus, JobKind, JobStatus, Status, Store


def checked_values(db: Path, table: str, column: str) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        (sql,) = conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
    finally:
        conn.close()
    found = re.search(rf"CHECK\s*\(\s*{column}\s+IN\s*\(([^)]*)\)", sql)
    assert found, f"no CHECK on {table}.{column}"
    return set(re.findall(r"'([^']*)'", found.group(1)))


@pytest.mark.parametrize(
    ("table", "column", "enum"),
    [
        ("files", "status", Status),
        ("jobs", "kind", JobKind),
        ("jobs", "status", JobStatus),
        ("job_items", "status", ItemStatus),
        ("actions", "state", ActionState),
    ],
)
def test_the_schema_checks_the_enum_values(
    tmp_path: Path, table: str, column: str, enum: type[StrEnum]
) -> None:
    db = tmp_path / "store.db"
    Store(db).close()
    assert checked_values(db, table, column) == {member.value for member in enum}
