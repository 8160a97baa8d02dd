"""The fold is pure: every case here is plain values in, a plan out, no filesystem."""

from __future__ import annotations

import pytest

from comicmaintainer.watcher.events import Created, Deleted, Modified, Moved
from comicmaintainer.watcher.fold import Plan, fold, is_comic


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a.cbz", True),
        ("Series/A.CBR", True),
        ("Series/a.CbZ", True),
        ("a.zip", False),
        ("a.cbz.part", False),
        ("a.cbz.crdownload", False),
        ("a.cbz.tmp", False),
        (".a.cbz", False),
        (".a.cbz.cm-tmp-123", False),
        (".sync/a.cbz", False),
        ("Series/.hidden/a.cbz", False),
        ("notes.txt", False),
    ],
)
def test_which_paths_count(path: str, expected: bool) -> None:
    assert is_comic(path) is expected


def test_empty_batch_is_empty_plan() -> None:
    assert fold([]) == Plan()
    assert fold([]).is_empty()


def test_created_is_checked() -> None:
    assert fold([Created("a.cbz")]) == Plan(to_check=frozenset({"a.cbz"}))


def test_created_then_deleted_cancels_out() -> None:
    plan = fold([Created("a.cbz"), Modified("a.cbz"), Deleted("a.cbz")])
    assert plan.is_empty()


def test_modified_many_times_is_one_check() -> None:
    plan = fold([Created("a.cbz")] + [Modified("a.cbz")] * 50)
    assert plan == Plan(to_check=frozenset({"a.cbz"}))


def test_deleted_known_file_is_forgotten() -> None:
    assert fold([Deleted("S/a.cbz")]) == Plan(to_forget=frozenset({"S/a.cbz"}))


def test_deleted_then_recreated_is_forgotten_then_new() -> None:
    plan = fold([Deleted("a.cbz"), Created("a.cbz")])
    assert plan == Plan(to_check=frozenset({"a.cbz"}), to_forget=frozenset({"a.cbz"}))


def test_partial_download_renamed_to_final_name() -> None:
    events = [Created("a.cbz.part"), Modified("a.cbz.part"), Moved("a.cbz.part", "a.cbz")]
    assert fold(events) == Plan(to_check=frozenset({"a.cbz"}))


@pytest.mark.parametrize("name", ["a.part", "a.cbz.crdownload", "a.tmp", ".a.cbz", "a.txt", ".dl/a.cbz"])
def test_ignored_names_alone_do_nothing(name: str) -> None:
    assert fold([Created(name), Modified(name), Deleted(name)]).is_empty()


def test_own_temp_file_replacing_archive_is_a_check_not_a_forget() -> None:
    plan = fold([Created(".a.cbz.cm-tmp-1"), Modified(".a.cbz.cm-tmp-1"), Moved(".a.cbz.cm-tmp-1", "a.cbz")])
    assert plan == Plan(to_check=frozenset({"a.cbz"}))


def test_rename_moves_row_without_check() -> None:
    assert fold([Moved("a.cbz", "b.cbz")]) == Plan(moves=(("a.cbz", "b.cbz"),))


def test_rename_chain_collapses() -> None:
    plan = fold([Moved("a.cbz", "b.cbz"), Moved("b.cbz", "c.cbz")])
    assert plan == Plan(moves=(("a.cbz", "c.cbz"),))


def test_rename_back_is_nothing() -> None:
    assert fold([Moved("a.cbz", "b.cbz"), Moved("b.cbz", "a.cbz")]).is_empty()


def test_move_then_modify_is_move_and_check() -> None:
    plan = fold([Moved("a.cbz", "b.cbz"), Modified("b.cbz")])
    assert plan == Plan(moves=(("a.cbz", "b.cbz"),), to_check=frozenset({"b.cbz"}))


def test_modify_then_move_carries_the_check() -> None:
    plan = fold([Modified("a.cbz"), Moved("a.cbz", "b.cbz")])
    assert plan == Plan(moves=(("a.cbz", "b.cbz"),), to_check=frozenset({"b.cbz"}))


def test_created_then_renamed_is_only_a_check_at_the_end() -> None:
    plan = fold([Created("x.cbz"), Moved("x.cbz", "y.cbz")])
    assert plan == Plan(to_check=frozenset({"y.cbz"}))


def test_renamed_to_ignored_name_is_forgotten() -> None:
    assert fold([Moved("a.cbz", "a.cbz.bak")]) == Plan(to_forget=frozenset({"a.cbz"}))


def test_moved_then_deleted_forgets_original_row() -> None:
    assert fold([Moved("a.cbz", "b.cbz"), Deleted("b.cbz")]) == Plan(to_forget=frozenset({"a.cbz"}))


def test_chained_moves_are_ordered_so_no_row_is_overwritten() -> None:
    # b moves out of the way first, then a takes its place.
    plan = fold([Moved("b.cbz", "c.cbz"), Moved("a.cbz", "b.cbz")])
    assert plan.moves == (("b.cbz", "c.cbz"), ("a.cbz", "b.cbz"))


def test_swap_through_temporary_name_falls_back_to_rescan() -> None:
    plan = fold([Moved("a.cbz", "t.cbz"), Moved("b.cbz", "a.cbz"), Moved("t.cbz", "b.cbz")])
    assert plan.rescan
    assert plan.moves == ()
    assert plan.to_check == {"a.cbz", "b.cbz"}


def test_folder_rename_moves_rows_without_reprocessing() -> None:
    events = [
        Moved("Old", "New", is_dir=True),
        # inotify and polling both also report each file beneath; those are echoes
        Moved("Old/a.cbz", "New/a.cbz"),
        Moved("Old/sub/b.cbr", "New/sub/b.cbr"),
        Modified("New", is_dir=True),
    ]
    assert fold(events) == Plan(folder_moves=(("Old", "New"),))


def test_folder_rename_carries_pending_checks() -> None:
    events = [Created("Old/a.cbz"), Moved("Old", "New", is_dir=True), Moved("Old/a.cbz", "New/a.cbz")]
    assert fold(events) == Plan(folder_moves=(("Old", "New"),), to_check=frozenset({"New/a.cbz"}))


def test_modified_file_keeps_its_check_through_folder_rename_echo() -> None:
    events = [Modified("Old/a.cbz"), Moved("Old", "New", is_dir=True), Moved("Old/a.cbz", "New/a.cbz")]
    assert fold(events) == Plan(folder_moves=(("Old", "New"),), to_check=frozenset({"New/a.cbz"}))


def test_file_moved_out_before_folder_rename() -> None:
    plan = fold([Moved("Old/a.cbz", "a.cbz"), Moved("Old", "New", is_dir=True)])
    # The store renames the folder first (the row goes to New/a.cbz) and then moves the file.
    assert plan == Plan(folder_moves=(("Old", "New"),), moves=(("New/a.cbz", "a.cbz"),))


def test_delete_after_folder_rename_forgets_start_key() -> None:
    plan = fold([Moved("Old", "New", is_dir=True), Deleted("New/a.cbz")])
    assert plan == Plan(folder_moves=(("Old", "New"),), to_forget=frozenset({"Old/a.cbz"}))


def test_folder_renamed_twice() -> None:
    plan = fold([Moved("A", "B", is_dir=True), Moved("B", "C", is_dir=True), Modified("C/x.cbz")])
    assert plan.folder_moves == (("A", "B"), ("B", "C"))
    assert plan.to_check == {"C/x.cbz"}


def test_folder_deleted_asks_for_rescan_and_drops_pending() -> None:
    plan = fold([Created("S/a.cbz"), Deleted("S/a.cbz"), Created("S/b.cbz"), Deleted("S", is_dir=True)])
    assert plan == Plan(rescan=True)


def test_folder_moved_into_hidden_is_a_deletion() -> None:
    assert fold([Moved("S", ".trash/S", is_dir=True)]) == Plan(rescan=True)


def test_folder_moved_out_of_hidden_is_scanned() -> None:
    plan = fold([Moved(".incoming/S", "S", is_dir=True), Moved(".incoming/S/a.cbz", "S/a.cbz")])
    assert plan == Plan(scan_folders=frozenset({"S"}), to_check=frozenset({"S/a.cbz"}))


def test_new_folder_is_scanned_and_its_files_checked() -> None:
    plan = fold([Created("S", is_dir=True), Created("S/a.cbz"), Created("S/notes.txt")])
    assert plan == Plan(scan_folders=frozenset({"S"}), to_check=frozenset({"S/a.cbz"}))


def test_hidden_folder_events_are_ignored() -> None:
    assert fold([Created(".cache", is_dir=True), Deleted(".cache", is_dir=True)]).is_empty()


def test_rename_onto_a_row_carried_earlier_forgets_that_row() -> None:
    plan = fold([Moved("a.cbz", "x.cbz"), Moved("b.cbz", "x.cbz")])
    assert plan == Plan(moves=(("b.cbz", "x.cbz"),), to_forget=frozenset({"a.cbz"}))


def test_burst_of_ten_thousand_files_folds_to_ten_thousand_checks() -> None:
    events = []
    for i in range(10_000):
        name = f"S/{i:05d}.cbz"
        events += [Created(name), Modified(name), Modified(name)]
    plan = fold(events)
    assert len(plan.to_check) == 10_000
    assert not (plan.to_forget or plan.moves or plan.folder_moves)
