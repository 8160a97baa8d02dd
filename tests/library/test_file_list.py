"""The web page's file list against a real SQLite store: every page, count and search is compared
with the same question answered in plain Python over all rows."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from comicmaintainer.library import store as store_module
from comicmaintainer.library.store import LIST_FILTERS, FileList, FileQuery, FileRow, Status, Store

ASCII_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
SPECIAL_NAMES = [
    "100% Orange/100% Orange - Chapter 0001.cbz",
    "Under_Score/Under_Score - Chapter 0002.cbz",
    'Quotes/Don\'t Say "Never" - Chapter 0003.cbz',
    "Back\\Slash/Back\\Slash - Chapter 0004.cbz",
    "Ünïcode Über/Ünïcode Über - Chapter 0005.cbz",
    "進撃の巨人/進撃の巨人 - 第0006話.cbz",
    "root file.cbz",
]
STATUSES = [Status.PROCESSED] * 5 + [Status.UNPROCESSED] * 3 + [Status.DUPLICATE, Status.NEEDS_ATTENTION]


def fold(text: str) -> str:
    """LIKE's case folding: ASCII letters only."""
    return text.translate(ASCII_FOLD)


def library_rows(count: int, seed: int = 7) -> list[FileRow]:
    """``count`` rows over series folders (a third of them 'Vol Edition'), then the special names.

    Names, sizes and dates are all distinct so that every sort order is fully determined."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        series = f"Series {i // 20:03d} {('Saga', 'Tales', 'Vol Edition')[i // 20 % 3]}"
        rows.append(
            FileRow(
                f"{series}/{series} - Chapter {i:04d}.cbz",
                size=1000 + i * 7 % count,
                mtime_ns=rng.randrange(1 << 40) * count + i,
                inode=i,
                status=rng.choice(STATUSES),
            )
        )
    for j, path in enumerate(SPECIAL_NAMES):
        rows.append(FileRow(path, size=10**6 + j, mtime_ns=j, status=STATUSES[j % len(STATUSES)]))
    return rows


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "list.db") as store:
        yield store


@pytest.fixture
def filled(store: Store) -> Store:
    store.bulk_upsert(library_rows(600))
    return store


def expected(store: Store | list[FileRow], query: FileQuery) -> list[str]:
    """The whole result of ``query`` (every page) worked out in Python, over the store's rows."""
    status = LIST_FILTERS[query.filter]
    rows = [
        row
        for row in (store.files() if isinstance(store, Store) else store)
        if fold(query.search) in fold(row.path) and (status is None or row.status is status)
    ]
    keys = {
        "name": lambda r: (fold(r.name),),
        "folder": lambda r: (fold(r.folder), fold(r.name)),
        "date": lambda r: (r.mtime_ns,),
        "size": lambda r: (r.size,),
    }[query.sort]
    rows.sort(key=keys, reverse=query.direction == "desc")
    return [row.path for row in rows]


def every_page(files: FileList, query: FileQuery) -> tuple[list[str], int]:
    """All pages of ``query`` joined, and the total the first page announced."""
    paths: list[str] = []
    first = files.page(query)
    page = first
    number = query.page
    while page.rows:
        paths += [row.path for row in page.rows]
        number += 1
        page = files.page(
            FileQuery(number, query.per_page, query.search, query.filter, query.sort, query.direction)
        )
    return paths, first.total


SEARCHES = [
    "",
    "s",
    "vol",
    "VOL EDITION",
    "chapter 0007",
    "series 012",
    "Er 01",
    "0599",
    "zzz",
    "e",
    "100%",
    "%",
    "_",
    "under_score",
    "don't",
    '"never"',
    "\\",
    "back\\slash",
    "ünïcode",
    "über",
    "巨人",
    "進撃の",
    "/",
    ".cbz",
    "root file",
    "ter 00",
]


@pytest.fixture(params=["keep matches", "read candidates"])
def strategy(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways a search page is read: from the kept matches of a narrow search, and, as for a
    broad search of a large library, from the candidates sorted or the sort index walked."""
    if request.param == "read candidates":
        monkeypatch.setattr(store_module, "_SMALL_FILTER", 0)
    return str(request.param)


@pytest.mark.parametrize("search", SEARCHES)
def test_search_pages_and_counts_match_python(filled: Store, search: str, strategy: str) -> None:
    files = FileList(filled)
    rows = filled.files()
    counts = files.counts(search)
    for name in LIST_FILTERS:
        assert counts[name] == len(expected(rows, FileQuery(search=search, filter=name))), name
    for sort in ("name", "folder", "date", "size"):
        for filter_name in ("all", "processed", "duplicates"):
            for direction in ("asc", "desc"):
                query = FileQuery(
                    per_page=25, search=search, filter=filter_name, sort=sort, direction=direction
                )
                paths, total = every_page(files, query)
                want = expected(rows, query)
                assert paths == want, (sort, filter_name, direction)
                assert total == len(want) == counts[filter_name]


def test_search_is_case_insensitive_and_finds_folder_or_name(filled: Store) -> None:
    files = FileList(filled)
    in_folder = files.page(FileQuery(search="sERIES 001 tales", per_page=500))
    assert {row.folder for row in in_folder.rows} == {"Series 001 Tales"}
    assert in_folder.total == 20
    in_name = files.page(FileQuery(search="CHAPTER 0433.CBZ"))
    assert [row.name for row in in_name.rows] == ["Series 021 Saga - Chapter 0433.cbz"]
    across = files.page(FileQuery(search="tales/series"))
    assert across.total == 200  # the query spans the folder and the name


def test_rare_filters_sorted_by_every_order(filled: Store) -> None:
    files = FileList(filled)
    for filter_name in ("duplicates", "needs_attention", "unprocessed"):
        for sort in ("name", "folder", "date", "size"):
            for direction in ("asc", "desc"):
                query = FileQuery(per_page=10, filter=filter_name, sort=sort, direction=direction)
                assert every_page(files, query)[0] == expected(filled, query)


def test_rows_changed_after_a_search_are_found_by_the_next(filled: Store) -> None:
    files = FileList(filled)
    assert files.page(FileQuery(search="Renamed Thing")).total == 0
    filled.move_file(
        "Series 000 Saga/Series 000 Saga - Chapter 0003.cbz", "Series 000 Saga/Renamed Thing.cbz"
    )
    assert [r.path for r in files.page(FileQuery(search="renamed thing")).rows] == [
        "Series 000 Saga/Renamed Thing.cbz"
    ]
    assert files.page(FileQuery(search="Saga - Chapter 0003.cbz")).total == 0

    filled.mark("New Folder/Brand New.cbz", status=Status.NEEDS_ATTENTION)
    page = files.page(FileQuery(search="brand new", filter="needs_attention"))
    assert [r.path for r in page.rows] == ["New Folder/Brand New.cbz"]
    assert files.counts("brand new")["needs_attention"] == 1

    filled.mark("New Folder/Brand New.cbz", status=Status.PROCESSED)
    assert files.counts("brand new") == {
        "all": 1,
        "processed": 1,
        "unprocessed": 0,
        "duplicates": 0,
        "needs_attention": 0,
    }

    filled.delete_file("New Folder/Brand New.cbz")
    assert files.page(FileQuery(search="brand new")).total == 0

    moved = filled.move_prefix("Series 001 Tales", "Moved Away")
    assert moved == 20
    assert files.page(FileQuery(search="moved away/")).total == 20
    assert files.page(FileQuery(search="Series 001 Tales/")).total == 0


def test_bulk_upsert_indexes_new_rows_once_and_keeps_known_ones(store: Store) -> None:
    files = FileList(store)
    rows = library_rows(300)
    store.bulk_upsert(rows[:200])
    store.bulk_upsert(rows)  # 200 known paths again, 107 new ones
    assert files.counts("chapter 0250")["all"] == 1
    assert files.counts("chapter 00")["all"] == 100 + 5  # and 5 of the special names
    assert files.counts("")["all"] == len(rows)
    store.bulk_upsert([FileRow(rows[0].path, size=5, status=Status.DUPLICATE)])  # a known path changes
    assert [r.path for r in files.page(FileQuery(search="chapter 0000", filter="duplicates")).rows] == [
        rows[0].path
    ]


def test_a_failed_bulk_upsert_leaves_single_writes_indexed(store: Store) -> None:
    def broken() -> Iterator[FileRow]:
        yield FileRow("A/Half Written.cbz")
        raise RuntimeError("the scan failed half way")

    with pytest.raises(RuntimeError):
        store.bulk_upsert(broken())
    files = FileList(store)
    assert files.counts("half written")["all"] == 0
    store.mark("A/After Failure.cbz", status=Status.PROCESSED)  # through the trigger, not the bulk path
    assert files.counts("after failure")["all"] == 1


def test_search_of_a_trigram_no_file_holds_is_empty(filled: Store) -> None:
    assert FileList(filled).page(FileQuery(search="qqq")).rows == []


def test_empty_library(store: Store) -> None:
    files = FileList(store)
    for search in ("", "a", "abc"):
        page = files.page(FileQuery(search=search, filter="duplicates", sort="size"))
        assert page.rows == [] and page.total == 0


def test_folders_counts_each_folder(filled: Store) -> None:
    folders = dict(FileList(filled).folders())
    assert folders["Series 000 Saga"] == 20
    assert folders[""] == 1  # "root file.cbz"
    assert sum(folders.values()) == 600 + len(SPECIAL_NAMES)


def test_query_values_outside_the_contract_are_refused() -> None:
    for bad in (
        {"page": 0},
        {"per_page": 9},
        {"per_page": 501},
        {"filter": "x"},
        {"sort": "x"},
        {"direction": "up"},
    ):
        with pytest.raises(ValueError):
            FileQuery(**bad)  # type: ignore[arg-type]
