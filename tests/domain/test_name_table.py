"""Every row of the real-world name table is read as the book a reader would say it holds."""

from __future__ import annotations

import pytest

from comicmaintainer.domain.naming import NamingRules
from comicmaintainer.domain.plan import describe_name
from tests.domain.name_table import ROWS, Row

KINDS = {"chapter", "volume", "range", "part", "special", None}


def test_the_table_is_large_and_covers_every_kind() -> None:
    assert len(ROWS) >= 150
    assert {row.kind for row in ROWS} == KINDS
    assert len({(row.name, row.folder) for row in ROWS}) == len(ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_name_is_read_as_its_book(row: Row) -> None:
    found = describe_name(row.name, row.folder, NamingRules())
    got = (found["kind"], found["issue"], found["issue_end"], found["volume"], found["part"])
    assert got == (row.kind, row.issue, row.issue_end, row.volume, row.part)
    assert found["chapter_title"] == row.title
