"""The pipeline on real archives in a real folder with a real store."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from comicmaintainer.archive.reader import read_archive
from comicmaintainer.library.process import Context, process
from comicmaintainer.library.store import Status, Store
from comicmaintainer.library.undo import UndoError, undo
from tests.archive_factory import make_cbz, page_hashes
from tests.conftest import make_settings
from tests.fixture_files import rar_path


def tags_of(path: Path) -> tuple[str | None, str | None, str | None]:
    md = read_archive(path).metadata
    return md.series, md.issue, md.title


def test_messy_name_is_tagged_and_renamed_with_pages_untouched(ctx: Context, watched: Path) -> None:
    src = make_cbz(watched / "Re_Zero" / "Re Zero ch-12 (2021) [Scans].cbz", pages=4)
    before = page_hashes(src)

    result = process(src, ctx)

    target = watched / "Re_Zero" / "Re_Zero - Chapter 0012.cbz"
    assert result.outcome == "processed", result.message
    assert result.new_path == "Re_Zero/Re_Zero - Chapter 0012.cbz"
    assert not src.exists() and target.exists()
    assert tags_of(target) == ("Re:Zero", "12", "Chapter 12")
    assert page_hashes(target) == before
    row = ctx.store.get_file(result.new_path)
    assert row is not None and row.status == Status.PROCESSED
    assert ctx.store.get_file("Re_Zero/Re Zero ch-12 (2021) [Scans].cbz") is None


def test_already_normalized_file_is_not_written(ctx: Context, watched: Path) -> None:
    src = make_cbz(watched / "Berserk" / "Berserk ch 5.cbz")
    first = process(src, ctx)
    done = watched / first.new_path
    stat_before = done.stat()

    again = process(done, ctx, force=True)

    assert again.outcome == "unchanged"
    assert done.stat().st_mtime_ns == stat_before.st_mtime_ns
    assert done.stat().st_ino == stat_before.st_ino


def test_second_run_does_not_open_unchanged_archives(ctx: Context, watched: Path) -> None:
    src = make_cbz(watched / "Berserk" / "Berserk ch 6.cbz")
    done = watched / process(src, ctx).new_path
    st = done.stat()
    # Same size, inode and mtime, but no longer an archive: only a run that does not open it succeeds.
    with open(done, "r+b") as f:
        f.write(b"\0" * st.st_size)
    os.utime(done, ns=(st.st_atime_ns, st.st_mtime_ns))

    result = process(done, ctx)

    assert result.outcome == "unchanged"
    assert result.message == "already processed; file unchanged"
    assert process(done, ctx, force=True).outcome == "failed"


def test_file_without_issue_needs_attention_and_is_untouched(ctx: Context, watched: Path) -> None:
    src = make_cbz(watched / "Berserk" / "Berserk artbook.cbz")
    data = src.read_bytes()

    result = process(src, ctx)

    assert result.outcome == "needs_attention"
    assert src.read_bytes() == data
    row = ctx.store.get_file("Berserk/Berserk artbook.cbz")
    assert row is not None and row.status == Status.NEEDS_ATTENTION and row.error


def test_dry_run_changes_nothing(ctx: Context, watched: Path) -> None:
    src = make_cbz(watched / "Vinland Saga" / "vinland saga c045.cbz")
    data, mtime = src.read_bytes(), src.stat().st_mtime_ns

    result = process(src, ctx, dry_run=True)

    assert result.dry_run and result.new_path == "Vinland Saga/Vinland Saga - Chapter 0045.cbz"
    assert result.tags_after["title"] == "Chapter 45"
    assert src.read_bytes() == data and src.stat().st_mtime_ns == mtime
    assert ctx.store.get_file("Vinland Saga/vinland saga c045.cbz") is None
    assert ctx.store.list_actions(10) == []


def test_duplicate_stays_marked_without_duplicate_dir(ctx: Context, watched: Path) -> None:
    one = make_cbz(watched / "Blame!" / "Blame ch 3.cbz", seed=3)
    two = watched / "Blame!" / "Blame! - Chapter 003.cbz"
    shutil.copyfile(one, two)

    first, second = process(one, ctx), process(two, ctx)

    assert first.outcome == "processed"
    assert second.outcome == "duplicate" and second.identical is True
    assert second.duplicate_of == "Blame!/Blame! - Chapter 0003.cbz"
    assert two.exists()
    row = ctx.store.get_file("Blame!/Blame! - Chapter 003.cbz")
    assert row is not None and row.status == Status.DUPLICATE


def test_duplicates_move_to_duplicate_dir_with_numbered_suffix(watched: Path, tmp_path: Path) -> None:
    dup_dir = tmp_path / "dups"
    settings = make_settings(watched, tmp_path, DUPLICATE_DIR=str(dup_dir))
    store = Store(settings.db_path)
    ctx = Context(settings=settings, store=store)
    try:
        make_cbz(watched / "Blame!" / "Blame! - Chapter 0003.cbz", seed=1)
        a = make_cbz(watched / "Blame!" / "blame ch3.cbz", seed=2)
        b = make_cbz(watched / "Blame!" / "Blame #3.cbz", seed=2)
        (dup_dir / "Blame!").mkdir(parents=True)
        shutil.copyfile(a, dup_dir / "Blame!" / "blame ch3.cbz")  # taken in DUPLICATE_DIR too

        ra, rb = process(a, ctx), process(b, ctx)

        assert (ra.outcome, rb.outcome) == ("duplicate", "duplicate")
        assert ra.identical is False
        assert not a.exists() and not b.exists()
        moved = sorted(p.name for p in (dup_dir / "Blame!").iterdir())
        assert moved == ["Blame #3.cbz", "blame ch3 (1).cbz", "blame ch3.cbz"]
        assert page_hashes(dup_dir / "Blame!" / "blame ch3 (1).cbz") == page_hashes(
            dup_dir / "Blame!" / "blame ch3.cbz"
        )
    finally:
        store.close()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("empty.cbz", b""),
        ("not an archive ch 1.cbz", b"just some text, not a zip at all" * 10),
    ],
)
def test_bad_input_fails_with_one_line_and_file_untouched(
    ctx: Context, watched: Path, name: str, data: bytes
) -> None:
    bad = watched / "Berserk" / name
    bad.parent.mkdir()
    bad.write_bytes(data)

    result = process(bad, ctx)

    assert result.outcome == "failed"
    assert result.message and "\n" not in result.message
    assert bad.read_bytes() == data
    row = ctx.store.get_file(f"Berserk/{name}")
    assert row is not None and row.status == Status.NEEDS_ATTENTION and row.error == result.message


def test_truncated_zip_fails_and_run_goes_on(ctx: Context, watched: Path) -> None:
    good = make_cbz(watched / "Berserk" / "Berserk ch 1.cbz")
    truncated = watched / "Berserk" / "Berserk ch 2.cbz"
    truncated.write_bytes(good.read_bytes()[:300])

    results = [process(truncated, ctx), process(good, ctx)]

    assert [r.outcome for r in results] == ["failed", "processed"]
    assert truncated.stat().st_size == 300


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """A folder nobody can write in: permission bits, or for root (who ignores them) a read-only mount."""
    if os.geteuid() != 0:
        os.chmod(folder, 0o555)
        try:
            yield
        finally:
            os.chmod(folder, 0o755)
        return
    mounted = subprocess.run(["mount", "--bind", "-o", "ro", str(folder), str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot make a read-only folder here: {mounted.stderr.decode().strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_read_only_folder_fails_and_keeps_file(ctx: Context, watched: Path) -> None:
    src = make_cbz(watched / "Berserk" / "Berserk ch 9.cbz")
    data = src.read_bytes()
    with read_only(src.parent):
        result = process(src, ctx)
    assert result.outcome == "failed"
    assert result.message and "read-only" in result.message.lower()
    assert src.read_bytes() == data


def test_file_deleted_before_processing_is_a_plain_failure(ctx: Context, watched: Path) -> None:
    result = process(watched / "Berserk" / "gone ch 1.cbz", ctx)
    assert result.outcome == "failed"
    assert "vanished" in (result.message or "")


def test_path_outside_library_is_refused(ctx: Context, tmp_path: Path) -> None:
    outside = make_cbz(tmp_path / "elsewhere" / "x ch 1.cbz")
    result = process(outside, ctx)
    assert result.outcome == "failed"
    assert outside.exists()


def test_true_rar_is_converted_to_cbz_losslessly(ctx: Context, watched: Path) -> None:
    fixture = rar_path("pages-rar5.cbr")
    src = watched / "Dorohedoro" / "Dorohedoro ch 7.cbr"
    src.parent.mkdir()
    shutil.copyfile(fixture, src)
    before = page_hashes(src)

    result = process(src, ctx)

    target = watched / "Dorohedoro" / "Dorohedoro - Chapter 0007.cbz"
    assert result.outcome == "processed", result.message
    assert not src.exists() and zipfile.is_zipfile(target)
    assert page_hashes(target) == before
    assert tags_of(target) == ("Dorohedoro", "7", "Chapter 7")
    row = ctx.store.get_file("Dorohedoro/Dorohedoro - Chapter 0007.cbz")
    assert row is not None and row.content_id == read_archive(target).content_id


def test_true_rar_without_conversion_is_renamed_and_says_so(watched: Path, tmp_path: Path) -> None:
    fixture = rar_path("pages-rar5.cbr")
    settings = make_settings(watched, tmp_path)
    from dataclasses import replace

    settings = replace(settings, convert_cbr_to_cbz=False)
    store = Store(settings.db_path)
    try:
        src = watched / "Dorohedoro" / "dorohedoro c8.cbr"
        src.parent.mkdir()
        shutil.copyfile(fixture, src)
        result = process(src, Context(settings=settings, store=store))
        assert result.outcome == "processed"
        assert result.new_path == "Dorohedoro/Dorohedoro - Chapter 0008.cbr"
        assert "RAR tags left alone" in (result.message or "")
        assert (watched / result.new_path).read_bytes() == fixture.read_bytes()
    finally:
        store.close()


def test_undo_puts_name_and_tags_back(ctx: Context, watched: Path) -> None:
    src = make_cbz(watched / "Berserk" / "Berserk ch 11.cbz")
    original = src.read_bytes()
    result = process(src, ctx)
    assert result.action_id is not None

    message = undo(result.action_id, ctx)

    assert "undone" in message
    assert src.exists() and not (watched / result.new_path).exists()
    assert page_hashes(src) == page_hashes_of_bytes(original, src.parent)
    assert read_archive(src).comicinfo is None
    with pytest.raises(UndoError):
        undo(result.action_id, ctx)
    # The person's choice sticks: a later run leaves the restored file alone.
    assert process(src, ctx).outcome == "unchanged"


def page_hashes_of_bytes(data: bytes, folder: Path) -> list[str]:
    probe = folder / ".probe.cbz"
    probe.write_bytes(data)
    try:
        return page_hashes(probe)
    finally:
        probe.unlink()


def test_undo_of_a_duplicate_moved_out_brings_it_back(watched: Path, tmp_path: Path) -> None:
    settings = make_settings(watched, tmp_path, DUPLICATE_DIR=str(tmp_path / "dups"))
    with Store(settings.db_path) as store:
        ctx = Context(settings=settings, store=store)
        make_cbz(watched / "Blame!" / "Blame! - Chapter 0003.cbz", seed=1)
        dup = make_cbz(watched / "Blame!" / "blame ch3.cbz", seed=1)
        data = dup.read_bytes()
        process(dup, ctx)
        assert not dup.exists()
        (action,) = [a for a in store.list_actions(10) if a.kind == "duplicate"]

        undo(action.id, ctx)

        assert dup.read_bytes() == data
        row = store.get_file("Blame!/blame ch3.cbz")
        assert row is not None and row.manual_edit


def test_tags_that_cannot_be_written_after_the_rename_give_the_old_name_back(
    ctx: Context, watched: Path
) -> None:
    """The new name is taken first; when the tags then fail, the file is put back exactly as it came."""
    src = watched / "Berserk" / "berserk ch 9.cbz"
    src.parent.mkdir(parents=True)
    with zipfile.ZipFile(src, "w") as zf:  # a lower-case comicinfo.xml: only the full copy writes it
        zf.writestr("page001.jpg", b"\xff\xd8" + b"a" * 4000)
        zf.writestr("comicinfo.xml", b"<?xml version='1.0'?><ComicInfo><Series>x</Series></ComicInfo>")
    data = bytearray(src.read_bytes())
    data[data.index(b"aaaa")] = ord("b")  # a damaged page: the copy's CRC check refuses it
    src.write_bytes(bytes(data))

    result = process(src, ctx)

    assert result.outcome == "failed" and result.message and "CRC" in result.message, result
    assert src.read_bytes() == bytes(data)
    assert not (watched / "Berserk" / "Berserk - Chapter 0009.cbz").exists()
    [action] = [a for a in ctx.store.list_actions() if a.kind == "process"]
    assert (action.old_path, action.state) == ("Berserk/berserk ch 9.cbz", "rolled_back")
    row = ctx.store.get_file("Berserk/berserk ch 9.cbz")
    assert row is not None and row.status == Status.NEEDS_ATTENTION
