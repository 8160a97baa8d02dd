"""The path index alone: every search, before and after every kind of change, compared with the
same question answered in plain Python over all rows (a substring of the path, ASCII folded)."""

from __future__ import annotations

import random

import pytest

from comicmaintainer.library.store import path_index
from comicmaintainer.library.store.path_index import PathIndex, like_fold

STATUSES = ["processed", "unprocessed", "duplicate", "needs_attention"]
ASCII_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

Rows = dict[int, tuple[str, str]]  # rowid -> (path, status)


def answer(rows: Rows, search: str) -> tuple[dict[str, int], dict[int, str]]:
    """Rows per status holding ``search``, and the matches, worked out one path at a time."""
    needle = search.translate(ASCII_FOLD)
    matches = {
        rowid: status for rowid, (path, status) in rows.items() if needle in path.translate(ASCII_FOLD)
    }
    by_status = {status: 0 for status in {status for _path, status in rows.values()}}
    for status in matches.values():
        by_status[status] += 1
    return by_status, matches


def assert_same(index: PathIndex, rows: Rows, search: str) -> None:
    by_status, matches = answer(rows, search)
    found = index.search(search, keep=len(rows))
    assert {s: n for s, n in found.by_status.items() if n or s in by_status} == by_status, search
    assert found.matches == matches, search
    few = index.search(search, keep=len(matches) - 1)
    assert few.by_status == found.by_status
    assert few.matches is None or not matches, search


def build(rows: Rows) -> PathIndex:
    return PathIndex((rowid, path, status) for rowid, (path, status) in rows.items())


def shaped_library(rng: random.Random, count: int, letters: str) -> Rows:
    """Folders (some nested, some at the root) of names that mostly begin with the folder's last
    part, as the service names them, over a few letters so that queries collide often."""

    def word() -> str:
        return "".join(rng.choice(letters) for _ in range(rng.randint(1, 5)))

    folders = [""] + [word() for _ in range(count // 6)]
    folders += [f"{rng.choice(folders[1:])}/{word()}" for _ in range(count // 20)]
    rows: Rows = {}
    for rowid in rng.sample(range(1, 10 * count), count):
        folder = rng.choice(folders)
        leaf = folder.rpartition("/")[2]
        name = (leaf if rng.random() < 0.7 else "") + word() + rng.choice(["", ".cbz"])
        rows[rowid] = (f"{folder}/{name}" if folder else name, rng.choice(STATUSES))
    return rows


def searches_of(rng: random.Random, rows: Rows, how_many: int) -> list[str]:
    """Pieces of paths (across the "/" too), in any case, and a few that are in none."""
    paths = [path for path, _status in rows.values()]
    found = []
    for _ in range(how_many):
        path = rng.choice(paths)
        start = rng.randrange(len(path))
        piece = path[start : start + rng.randint(1, 9)]
        found.append(piece.upper() if rng.random() < 0.2 else piece)
    return found + ["/", "//", "zz", "a/", "/a", ".cbz", ""]


@pytest.fixture(params=["numbers, few held", "numbers, any held", "text"])
def remainders(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every way cut names are searched: by the numbers of the few remainders holding the query
    (or of the few not holding it), by numbers however many, and as text (very many remainders)."""
    if request.param == "numbers, any held":
        monkeypatch.setattr(path_index, "_FEW_HELD", 1_000_000)
    if request.param == "text":
        monkeypatch.setattr(path_index, "_FEW_REMAINDERS", 0)
    return str(request.param)


@pytest.mark.parametrize("seed", range(12))
def test_every_search_matches_python(seed: int, remainders: str) -> None:
    rng = random.Random(seed)
    rows = shaped_library(rng, 300, "abA -")
    index = build(rows)
    for search in searches_of(rng, rows, 150):
        assert_same(index, rows, search)


@pytest.mark.parametrize("seed", range(8))
def test_every_change_since_the_build_is_seen(seed: int, remainders: str) -> None:
    """Inserts, renames, status changes, deletes and folder moves, applied as the change log has
    them (the row before and after), with searches between them."""
    rng = random.Random(100 + seed)
    rows = shaped_library(rng, 200, "abc -")
    index = build(rows)
    spare = shaped_library(rng, 100, "abd -")  # new paths, some in new folders
    for step in range(120):
        rowid = rng.choice(list(rows))
        kind = rng.choice(["insert", "rename", "status", "delete", "move folder"])
        if kind == "insert":
            new_rowid = max(rows) + 1 if rng.random() < 0.5 else rng.choice(list(spare))
            if new_rowid in rows:
                continue
            change(index, rows, new_rowid, (spare.get(new_rowid) or rng.choice(list(spare.values()))))
        elif kind == "rename":
            change(index, rows, rowid, (rng.choice(list(spare.values()))[0], rows[rowid][1]))
        elif kind == "status":
            change(index, rows, rowid, (rows[rowid][0], rng.choice(STATUSES)))
        elif kind == "delete":
            change(index, rows, rowid, None)
        else:
            folder = rows[rowid][0].rpartition("/")[0]
            for moved in [r for r, (path, _s) in rows.items() if path.rpartition("/")[0] == folder]:
                path, status = rows[moved]
                change(index, rows, moved, ("moved " + path if folder else "moved/" + path, status))
        if step % 10 == 0:
            for search in searches_of(rng, rows, 20) + ["moved", "ed a", "/moved"]:
                assert_same(index, rows, search)
    assert index.changes > 0


def change(index: PathIndex, rows: Rows, rowid: int, new: tuple[str, str] | None) -> None:
    old = rows.get(rowid)
    index.apply(rowid, fold_row(old), fold_row(new))
    if new is None:
        del rows[rowid]
    else:
        rows[rowid] = new


def fold_row(row: tuple[str, str] | None) -> tuple[str, str] | None:
    return None if row is None else (like_fold(row[0]), row[1])


def test_a_rowid_used_again_after_a_delete() -> None:
    rows: Rows = {1: ("A/A 1.cbz", "processed"), 2: ("A/A 2.cbz", "processed")}
    index = build(rows)
    change(index, rows, 2, None)
    change(index, rows, 2, ("B/B 2.cbz", "duplicate"))  # SQLite gives the largest rowid again
    change(index, rows, 2, ("B/A 2.cbz", "duplicate"))
    for search in ("a 2", "b/", "2.cbz", "a"):
        assert_same(index, rows, search)


def test_names_that_repeat_the_folder_and_queries_across_the_cut(remainders: str) -> None:
    """The service's own shape: "Series/Series - Chapter 0001.cbz", its names held without the
    folder's part; queries that begin in it and end in the rest."""
    rows: Rows = {}
    for i in range(600):
        series = f"Series {i // 20:03d} {('Saga', 'Tales', 'Vol Edition')[i // 20 % 3]}"
        rows[i + 1] = (f"{series}/{series} - Chapter {i % 20:04d}.cbz", STATUSES[i % 4])
    rows[601] = ("Saga/Saga.cbz", "processed")  # the name is the folder's part, nothing after it
    rows[602] = ("Saga/Other Saga - Chapter 0001.cbz", "duplicate")  # holds it, not at the start
    index = build(rows)
    for search in (
        "saga - chapter 00",
        "a - c",
        "tales - chapter 0007",
        "edition - ",
        "001 saga/series 001",
        "saga/saga",
        "saga/",
        "/series",
        "/",
        "chapter 0007",
        "series 012",
        "vol",
        "ta",
        "saga.cbz",
        "a.c",
        "s",
    ):
        assert_same(index, rows, search)


def test_a_query_that_would_be_picked_twice_by_the_cut(remainders: str) -> None:
    """A remainder that begins with a query's tail and also holds the query; and two cuts of one
    query whose tails begin the same remainder: each file is counted once."""
    rows: Rows = {
        1: ("xa/xaabaab", "processed"),  # "aab": head "a" ends "xa", tail "ab" begins "abaab"
        2: ("xaa/xaaaa", "processed"),  # "aaa": heads "a" and "aa" both end "xaa"
        3: ("xaa/xaab", "duplicate"),
        4: ("xa/xab", "processed"),
        5: ("y/xaab", "processed"),  # not cut: its name does not begin with "y"
        # For "xab", folders holding it run on into those ending with its head "x" (folders are
        # ordered by their path reversed: "wbax", "xbax"); those are credited whole, once.
        6: ("xabw/xabw 1", "processed"),
        7: ("xabx/xabxab1", "processed"),
    }
    index = build(rows)
    for search in ("aab", "aaa", "aa", "a", "xaa", "a/xa", "ab", "xab"):
        assert_same(index, rows, search)


def test_like_folds_ascii_letters_only() -> None:
    texts = ["Über", "über", "ÜBER", "Straße", "STRASSE", "\u212a", "k", "K", "İstanbul", "istanbul"]
    texts += ["ＡＢＣ", "abc"]
    rows: Rows = {i + 1: (f"Fold/{text} {i:02d}.cbz", "processed") for i, text in enumerate(texts)}
    rows[100] = ("Über/Über - 01.cbz", "unprocessed")  # a folder's part that is not ASCII
    index = build(rows)
    for search in texts + ["ü", "ss", "ß", "i̇", "ａｂｃ", "über/über"]:
        assert_same(index, rows, search)
    assert index.search("k", keep=100).by_status["processed"] == 2  # not the Kelvin sign


def test_characters_that_are_special_elsewhere_are_plain_here() -> None:
    rows: Rows = {
        1: ("100% Orange/100% Orange - 01.cbz", "processed"),
        2: ("Under_Score/Under_Score - 02.cbz", "processed"),
        3: ("Back\\Slash/Back\\Slash - 03.cbz", "duplicate"),
        4: ("Caps AP/Caps AP - 04.cbz", "processed"),  # letters A to P hold a rowid in the index
        5: ("root.cbz", "needs_attention"),
    }
    index = build(rows)
    for search in ("%", "100%", "_", "r_s", "\\", "k\\s", "[a-p]+", ".*", "ap", "AP - 0", "p - 04", "root"):
        assert_same(index, rows, search)


def test_a_query_holding_nul_matches_nothing() -> None:
    rows: Rows = {1: ("A/A.cbz", "processed"), 2: ("B/B\0.cbz", "processed")}  # a NUL no disk allows
    index = build(rows)
    assert index.search("\0", keep=10).matches == {}
    assert index.search("a\0", keep=10).by_status == {"processed": 0}
    assert index.search("b\ufffd", keep=10).matches == {2: "processed"}  # where the NUL was


def test_an_empty_library() -> None:
    index = build({})
    for search in ("", "a", "/", "a/b"):
        found = index.search(search, keep=10)
        assert found.by_status == {} and found.matches == {}
    index.apply(1, None, ("new/new.cbz", "processed"))
    assert index.search("new/", keep=10).matches == {1: "processed"}
