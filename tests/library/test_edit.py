"""A person's tag edits, written into real archives and read back with comicapi."""

from __future__ import annotations

from pathlib import Path

import pytest

from comicmaintainer.archive.reader import read_archive
from comicmaintainer.library.changes import FileChange
from comicmaintainer.library.edit import FIELDS, EditError, NotInLibrary, edit_tags, read_tags
from comicmaintainer.library.paths import PathError
from comicmaintainer.library.process import Context, process
from comicmaintainer.library.store import Status
from comicmaintainer.library.undo import undo
from tests.archive_factory import make_cbz, page_hashes
from tests.fixture_files import rar_path

OLD_XML = (
    b"<?xml version='1.0' encoding='utf-8'?>\n<ComicInfo><Series>Berserk</Series><Number>5</Number>"
    b"<Review>kept as is</Review><Writer>Kentaro Miura</Writer></ComicInfo>"
)
REL = "Berserk/Berserk - Chapter 0005.cbz"


@pytest.fixture
def archive(watched: Path) -> Path:
    return make_cbz(watched / REL, pages=4, comicinfo=OLD_XML)


def test_edit_is_written_into_the_archive_and_recorded(ctx: Context, archive: Path) -> None:
    pages = page_hashes(archive)
    changes: list[FileChange] = []
    ctx.on_change = changes.append

    answer = edit_tags(
        REL, {"Title": "The Black Swordsman", "Year": "1989", "Summary": "Line one\nline two"}, ctx
    )

    md = read_archive(archive).metadata
    assert (md.title, md.year, md.description, md.series) == (
        "The Black Swordsman",
        1989,
        "Line one\nline two",
        "Berserk",
    )
    assert answer["path"] == REL and set(answer["tags"]) == set(FIELDS)
    assert answer["tags"]["Title"] == "The Black Swordsman" and answer["tags"]["Review"] == "kept as is"
    assert page_hashes(archive) == pages
    row = ctx.store.get_file(REL)
    assert row is not None and row.manual_edit and row.size == archive.stat().st_size
    (action,) = ctx.store.list_actions()
    assert (action.kind, action.state, action.old_xml) == ("edit", "done", OLD_XML)
    assert changes == [FileChange.updated(REL)]


def test_manual_edit_is_left_alone_by_later_runs_and_can_be_undone(ctx: Context, archive: Path) -> None:
    edit_tags(REL, {"Series": "My Own Name"}, ctx)
    assert process(REL, ctx).outcome == "unchanged"  # the watcher's run does not undo the person's choice
    assert read_archive(archive).metadata.series == "My Own Name"

    undo(ctx.store.list_actions()[0].id, ctx)
    assert read_archive(archive).metadata.series == "Berserk"


def test_none_or_empty_removes_a_field_and_unchanged_edit_writes_nothing(ctx: Context, archive: Path) -> None:
    tags = edit_tags(REL, {"Writer": None, "Review": ""}, ctx)["tags"]
    assert tags["Writer"] is None and tags["Review"] is None and tags["Series"] == "Berserk"
    mtime = archive.stat().st_mtime_ns

    edit_tags(REL, {"Series": "Berserk"}, ctx)

    assert archive.stat().st_mtime_ns == mtime and len(ctx.store.list_actions()) == 1


def test_read_tags_gives_every_field(ctx: Context, archive: Path) -> None:
    tags = read_tags(REL, ctx)["tags"]
    assert set(tags) == set(FIELDS) and "Pages" not in tags
    assert (tags["Series"], tags["Number"], tags["Review"], tags["Title"]) == (
        "Berserk",
        "5",
        "kept as is",
        None,
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"Colour": "red"}, "unknown ComicInfo field: Colour"),
        ({"Year": "nineteen"}, "Year must be a whole number"),
        ({"Manga": "perhaps"}, "Manga cannot hold 'perhaps'"),
        ({"CommunityRating": "9"}, "CommunityRating cannot hold '9'"),
    ],
)
def test_bad_values_are_refused_and_the_file_is_untouched(
    ctx: Context, archive: Path, changes: dict, message: str
) -> None:
    before = archive.read_bytes()
    with pytest.raises(EditError, match=message):
        edit_tags(REL, changes, ctx)
    assert archive.read_bytes() == before and ctx.store.list_actions() == []


def test_rar_missing_and_outside_paths_are_plain_errors(ctx: Context, watched: Path) -> None:
    rar = watched / "Old" / "old.cbr"
    rar.parent.mkdir()
    rar.write_bytes(rar_path("pages-rar5.cbr").read_bytes())
    with pytest.raises(EditError, match="tags of a RAR cannot be written"):
        edit_tags("Old/old.cbr", {"Series": "X"}, ctx)
    assert read_tags("Old/old.cbr", ctx)["path"] == "Old/old.cbr"
    with pytest.raises(NotInLibrary, match="no such file in the library: nope.cbz"):
        edit_tags("nope.cbz", {"Series": "X"}, ctx)
    with pytest.raises(PathError):
        edit_tags("../outside.cbz", {"Series": "X"}, ctx)


def test_status_of_a_processed_file_survives_an_edit(ctx: Context, watched: Path) -> None:
    src = make_cbz(watched / "Frieren" / "Frieren ch 3.cbz")
    new = process(src, ctx).new_path
    assert new is not None
    edit_tags(new, {"Publisher": "Shogakukan"}, ctx)
    row = ctx.store.get_file(new)
    assert row is not None and row.status == Status.PROCESSED and row.manual_edit
