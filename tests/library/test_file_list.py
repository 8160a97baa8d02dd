"""The web page's file list against a real SQLite store: every page, count and search is compared
with the same question answered in plain Python over all rows."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from comicmaintainer.library.store import (
    LIST_FILTERS,
    FileList,
    FileQuery,
    FileRow,
    Status,
    Store,
    kept_searches,
)
from comicmaintainer.library.store import file_list as file_list_module
from comicmaintainer.library.store import files as files_module

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
    "\0",
    "chapter\x000007",
    "saga/series",
    "/series 000",
    "000 saga/",
]


@pytest.fixture(params=["matches kept", "matches not kept", "counted in SQL"])
def strategy(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every way a search is counted and its page read, whatever the query: by the path index, its
    matches kept and their rows read by rowid; by the path index, as for a broad search of a large
    library, the sort index walked or every path tested; and in SQL, as while the path index is
    being built at start-up."""
    if request.param == "matches not kept":
        monkeypatch.setattr(file_list_module, "_SMALL_FILTER", 0)
    if request.param == "counted in SQL":
        make = FileList.__init__

        def while_the_index_is_built(self: FileList, store: Store) -> None:
            make(self, store)
            self._paths.building = True  # as while warm() runs in its thread

        monkeypatch.setattr(FileList, "__init__", while_the_index_is_built)
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


# --- searches kept across commits ---
# Each thread keeps the searches it counted and replays the store's change log into them after a
# commit. These tests change rows between two searches on the same FileList and compare every
# count and page with Python over all rows, and watch the SQL a search runs to tell a replay from a
# recount.

KEPT_SEARCHES = ["chapter 0007", "vol", "saga", "er 01", "s", "brand new", "renamed", "moved away/", "ü"]


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every search counted afresh from now on (by the path index or in SQL), in any thread."""
    seen: list[str] = []
    count_afresh = FileList._count

    def counting(self: FileList, search: str) -> object:
        seen.append(search)
        return count_afresh(self, search)

    monkeypatch.setattr(FileList, "_count", counting)
    return seen


BUILD = "FROM files INDEXED BY files_path_status"  # the path index read, or every path tested in SQL


def statements(store: Store) -> list[str]:
    """Every statement this thread's read connection runs from now on."""
    seen: list[str] = []
    store._reader().set_trace_callback(seen.append)
    return seen


def assert_searches_match_python(store: Store, files: FileList, searches: list[str]) -> None:
    rows = store.files()
    for search in searches:
        counts = files.counts(search)
        for name in LIST_FILTERS:
            want = expected(rows, FileQuery(search=search, filter=name))
            assert counts[name] == len(want), (search, name)
        for filter_name in ("all", "processed"):
            query = FileQuery(per_page=50, search=search, filter=filter_name, sort="date")
            assert every_page(files, query)[0] == expected(rows, query), (search, filter_name)


def change_rows(store: Store) -> None:
    """One of each change a search can see, as a job, the watcher or a rename makes them."""
    store.mark("New Folder/Brand New.cbz", status=Status.UNPROCESSED, mtime_ns=1 << 60)  # inserted
    store.mark("Series 000 Saga/Series 000 Saga - Chapter 0007.cbz", status=Status.DUPLICATE)
    store.mark("Series 001 Tales/Series 001 Tales - Chapter 0021.cbz", status=Status.PROCESSED)
    store.move_file(
        "Series 002 Vol Edition/Series 002 Vol Edition - Chapter 0047.cbz", "Elsewhere/Renamed.cbz"
    )
    store.delete_file("Series 003 Saga/Series 003 Saga - Chapter 0061.cbz")
    store.move_prefix("Series 004 Tales", "Moved Away")
    store.bulk_upsert(
        [FileRow("Über Folder/Über - Chapter 0070.cbz", mtime_ns=3 << 59, status=Status.NEEDS_ATTENTION)]
    )


def test_kept_searches_follow_inserts_renames_status_changes_and_deletes(
    filled: Store, strategy: str, counted: list[str]
) -> None:
    files = FileList(filled)
    assert_searches_match_python(filled, files, KEPT_SEARCHES)
    assert counted == KEPT_SEARCHES
    change_rows(filled)
    assert_searches_match_python(filled, files, KEPT_SEARCHES)
    assert counted == KEPT_SEARCHES  # every change was replayed into the kept searches

    filled.mark("New Folder/Brand New.cbz", status=Status.PROCESSED)  # and once more, between two pages
    filled.delete_file("Elsewhere/Renamed.cbz")
    assert_searches_match_python(filled, files, KEPT_SEARCHES)
    assert counted == KEPT_SEARCHES


def test_a_page_without_search_keeps_the_path_index_up_to_date(filled: Store) -> None:
    """So the next new search does not replay a running job's changes first."""
    files = FileList(filled)
    assert_counts_match_python(filled, files, "tales")
    for i in range(30):
        filled.mark(
            f"Series 00{i % 3} Saga/Series 00{i % 3} Saga - Chapter {i:04d}.cbz", status=Status.DUPLICATE
        )
    files.page(FileQuery(filter="duplicates"))
    seen = statements(filled)
    assert_counts_match_python(filled, files, "saga - chapter 00")
    assert not [sql for sql in seen if "FROM file_changes WHERE seq >" in sql]


def test_a_commit_that_changes_no_file_is_not_a_recount(filled: Store, counted: list[str]) -> None:
    files = FileList(filled)
    first = files.page(FileQuery(search="chapter 00", filter="processed"))
    seen = statements(filled)
    filled.set_kv("jobs", "progress", 41)  # as a running job's progress does
    again = files.page(FileQuery(search="chapter 00", filter="processed"))
    assert again == first
    assert counted == ["chapter 00"]
    assert [sql for sql in seen if "file_changes" in sql]  # the log was read, and found empty
    assert not [sql for sql in seen if "FROM files INDEXED BY files_path_status" in sql]  # no rebuild


def test_a_bulk_load_makes_kept_searches_count_again(
    filled: Store, strategy: str, counted: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files_module, "_BULK_ROWS", 50)
    files = FileList(filled)
    assert_searches_match_python(filled, files, KEPT_SEARCHES)
    more = [
        FileRow(f"Bulk Vol {i:03d}/Bulk Saga - Chapter {i:04d}.cbz", mtime_ns=(1 << 59) + i)
        for i in range(120)
    ]
    known = [
        FileRow(row.path, mtime_ns=(1 << 58) + i, status=Status.PROCESSED)
        for i, row in enumerate(library_rows(600)[:60])
    ]
    filled.bulk_upsert(more + known)  # new rows, and known rows whose status changes, out of the log
    assert_searches_match_python(filled, files, KEPT_SEARCHES)
    assert counted == KEPT_SEARCHES * 2  # each counted once again, then kept
    change_rows(filled)  # and the log is followed again afterwards
    assert_searches_match_python(filled, files, KEPT_SEARCHES)
    assert counted == KEPT_SEARCHES * 2


def test_a_reader_behind_pruned_entries_counts_again(
    store: Store, counted: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(file_list_module, "_MAX_REPLAY", 50_000)  # so only the gap can tell
    store.bulk_upsert([FileRow(f"Big/Big - Chapter {i:05d}.cbz") for i in range(10_050)])
    files = FileList(store)
    assert files.counts("big/big - chapter 0")["all"] == 10_000
    old = files._paths.index
    store.move_prefix("Big", "Huge")  # 10,050 entries: the oldest fall out of the log's window
    assert files.counts("big/big - chapter 0")["all"] == 0
    assert files.counts("huge/big - chapter 0")["all"] == 10_000
    assert counted == ["big/big - chapter 0", "big/big - chapter 0", "huge/big - chapter 0"]
    background_builds_done()  # the path index, behind too, was built again
    assert files._paths.index not in (None, old)
    seen = statements(store)
    assert files.counts("huge/big - chapter 00")["all"] == 1000
    assert not [sql for sql in seen if BUILD in sql]  # counted by the new index


def background_builds_done() -> None:
    for thread in threading.enumerate():
        if thread.name == "file-list-index":
            thread.join()


def test_a_reader_far_behind_counts_again(
    filled: Store, counted: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(file_list_module, "_MAX_REPLAY", 5)
    files = FileList(filled)
    assert_searches_match_python(filled, files, ["tales"])
    filled.move_prefix("Series 001 Tales", "Moved Tales")  # 20 changes, more than 5
    assert_searches_match_python(filled, files, ["tales"])
    assert counted == ["tales", "tales"]


def test_kept_searches_stay_right_in_every_thread(filled: Store) -> None:
    files = FileList(filled)
    with ThreadPoolExecutor(max_workers=1) as worker:  # one thread, reused: it keeps its searches
        worker.submit(assert_searches_match_python, filled, files, KEPT_SEARCHES).result()
        assert_searches_match_python(filled, files, KEPT_SEARCHES)
        change_rows(filled)  # written from this thread, seen by both
        worker.submit(assert_searches_match_python, filled, files, KEPT_SEARCHES).result()
        assert_searches_match_python(filled, files, KEPT_SEARCHES)
        worker.submit(change_rows_again, filled).result()  # written from the worker
        worker.submit(assert_searches_match_python, filled, files, KEPT_SEARCHES).result()
        assert_searches_match_python(filled, files, KEPT_SEARCHES)


def change_rows_again(store: Store) -> None:
    store.mark("Moved Away/Series 004 Tales - Chapter 0081.cbz", status=Status.DUPLICATE)
    store.move_file("Elsewhere/Renamed.cbz", "Elsewhere/Renamed Again.cbz")
    store.delete_file("New Folder/Brand New.cbz")


# Letters that str.lower() or casefold() would fold but LIKE does not (it folds A-Z only).
NOT_ASCII = [
    "Über",
    "über",
    "ÜBER",
    "Straße",
    "STRASSE",
    "\u212a",
    "k",
    "K",
    "İstanbul",
    "istanbul",
    "ǅ",
    "ǆ",
    "ＡＢＣ",
    "abc",
]


@pytest.mark.parametrize("needle", NOT_ASCII)
def test_a_replayed_change_matches_as_like_does(store: Store, needle: str) -> None:
    kept = FileList(store)
    kept.counts(needle)
    for i, text in enumerate(NOT_ASCII):
        store.mark(f"Fold/{i:02d} {text}.cbz", status=Status.PROCESSED)
    fresh = FileList(store).counts(needle)  # counted by a new path index
    assert kept.counts(needle) == fresh  # replayed
    assert fresh["all"] == like_count(store, needle) == sum(fold(needle) in fold(text) for text in NOT_ASCII)


def like_count(store: Store, search: str) -> int:
    """How many paths SQLite's LIKE finds ``search`` in, escaped as the file list escapes it."""
    sql = f"SELECT count(*) FROM files WHERE {file_list_module._LIKE}"
    return int(store._read(sql, file_list_module._like_params(search))[0][0])


def test_a_file_written_while_a_search_is_counted_is_counted_once(
    filled: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = FileList(filled)
    files.counts("tales")  # a kept search, so the log is read before the next one is counted
    count_afresh = FileList._count

    def written_meanwhile(self: FileList, search: str) -> object:
        filled.mark(
            "Racing/Racing Saga - Chapter 0001.cbz", status=Status.PROCESSED
        )  # another thread's commit
        return count_afresh(self, search)

    monkeypatch.setattr(FileList, "_count", written_meanwhile)
    files.counts("saga")
    monkeypatch.undo()
    assert files.counts("saga") == FileList(filled).counts("saga")
    assert files.counts("tales") == FileList(filled).counts("tales")


# --- how a new search is counted ---
# A new search is counted by the FileList's path index, built by the first search (or by warm());
# while warm() builds it, in SQL, testing every path in files_path_status. Each test compares with
# Python over all rows and tells the way taken from the SQL that ran.


def assert_counts_match_python(store: Store, files: FileList, search: str) -> None:
    rows = store.files()
    counts = files.counts(search)
    for name in LIST_FILTERS:
        assert counts[name] == len(expected(rows, FileQuery(search=search, filter=name))), (search, name)
    query = FileQuery(per_page=20, search=search, filter="processed", sort="size")
    assert every_page(files, query)[0] == expected(rows, query), search


def test_new_searches_are_counted_by_the_path_index_built_once(filled: Store) -> None:
    files = FileList(filled)
    seen = statements(filled)
    assert_counts_match_python(filled, files, "0599")
    assert len([sql for sql in seen if BUILD in sql]) == 1  # the index, built by the first search
    seen.clear()
    for search in ("Saga - Chapter 0042", "chapter 0", "tales", "ta", "qqq", "saga/series 000", "/"):
        assert_counts_match_python(filled, files, search)
    assert not [sql for sql in seen if BUILD in sql or "count(*) FILTER" in sql]


def test_while_warm_builds_the_index_new_searches_are_counted_in_sql(filled: Store) -> None:
    files = FileList(filled)
    files._paths.building = True  # as while warm() runs in its thread
    seen = statements(filled)
    assert_counts_match_python(filled, files, "tales")
    assert [sql for sql in seen if "count(*) FILTER" in sql]
    files._paths.building = False
    files.warm()
    built = files._paths.index
    files.warm()  # already built and current: nothing to do
    assert files._paths.index is built is not None
    seen.clear()
    assert_counts_match_python(filled, files, "saga")
    assert not [sql for sql in seen if BUILD in sql]


def test_warm_after_the_store_closed_does_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "closed.db")
    files = FileList(store)
    store.close()
    files.warm()  # the server may stop while warm() has not started yet
    assert files._paths.index is None


def test_an_index_holding_many_changes_is_built_again_in_the_background(
    filled: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kept_searches, "_INDEX_CHANGES", 3)
    files = FileList(filled)
    assert_counts_match_python(filled, files, "chapter 0007")
    old = files._paths.index
    change_rows(filled)  # more than 3 changes
    assert_counts_match_python(filled, files, "saga")  # answered by the old index and its changes
    background_builds_done()
    assert files._paths.index is not old
    change_rows_again(filled)
    for search in ("moved away", "renamed again", "brand new", "tales - chapter 008"):
        assert_counts_match_python(filled, files, search)


def test_a_page_of_few_matches_is_read_by_rowid(filled: Store) -> None:
    files = FileList(filled)
    seen = statements(filled)
    assert_counts_match_python(filled, files, "chapter 003")
    pages = [sql for sql in seen if "LIMIT" in sql]
    assert pages and all("json_each" in sql for sql in pages)


def test_kept_matches_are_bounded(filled: Store, counted: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the limit of kept matches the oldest searches are forgotten (and counted again if asked)."""
    files = FileList(filled)
    first, second = "chapter 0007", "chapter 0008"
    assert_counts_match_python(filled, files, first)
    kept = files.counts(first)["all"]
    assert kept > 0
    monkeypatch.setattr(kept_searches, "_MAX_KEPT_MATCHES", kept + kept // 2)  # room for one of them
    assert_counts_match_python(filled, files, second)
    assert_counts_match_python(filled, files, second)
    assert counted == [first, second], "the newest search is kept"
    assert_counts_match_python(filled, files, first)
    assert counted == [first, second, first], "the oldest was forgotten, so it is counted again"


def test_a_search_counted_on_one_thread_is_kept_for_the_others(filled: Store, counted: list[str]) -> None:
    """The server answers each request on whichever worker thread is free."""
    files = FileList(filled)
    with ThreadPoolExecutor(max_workers=1) as worker:
        worker.submit(assert_searches_match_python, filled, files, KEPT_SEARCHES).result()
    assert_searches_match_python(filled, files, KEPT_SEARCHES)
    change_rows(filled)
    assert_searches_match_python(filled, files, KEPT_SEARCHES)
    assert counted == KEPT_SEARCHES, "changes are replayed, whichever thread counted"
