"""Crash at each step of an in-place write, then recover: the archive is whole, old or new."""

from __future__ import annotations

import errno
import shutil
import zipfile
from pathlib import Path

import pytest

from comicmaintainer.archive import journal
from comicmaintainer.archive.cbz_inplace import write_comicinfo_inplace
from comicmaintainer.archive.errors import ArchiveError
from tests.archive_inplace import OLD_XML, build_cbz, new_xml, page_hashes, read_info, tool_errors

STEPS = [
    "journal_written",
    "tail_partly_written",
    "tail_written",
    "truncated",
    "file_synced",
    "journal_removed",
]


class SimulatedCrash(BaseException):
    """Stands for the process dying: not an OSError, so the writer does not clean up."""


def crash_at(step: str):  # noqa: ANN201 - a small closure factory
    def hook(name: str) -> None:
        if name == step:
            raise SimulatedCrash(name)

    return hook


def crashed_write(path: Path, jdir: Path, xml: bytes, step: str) -> None:
    with pytest.raises(SimulatedCrash):
        write_comicinfo_inplace(path, xml, jdir, step_hook=crash_at(step))


# Growing XML reaches every step but "truncated"; shrinking XML reaches every step.
CASES = [(step, 3000) for step in STEPS if step != "truncated"] + [(step, 0) for step in STEPS]


@pytest.mark.parametrize(("step", "padding"), CASES)
def test_crash_at_each_step_then_recover(tmp_path: Path, step: str, padding: int) -> None:
    path = build_cbz(tmp_path / "a.cbz", compression=zipfile.ZIP_DEFLATED, xml=new_xml("Old", 1500))
    pages, old = page_hashes(path), read_info(path)
    jdir = tmp_path / "journal"
    xml = new_xml("New", padding)
    crashed_write(path, jdir, xml, step)
    outcomes = journal.recover(jdir)
    expected = {
        "journal_written": "unchanged",
        "tail_partly_written": "rolled_back",
        "tail_written": "completed" if padding else "rolled_back",
        "truncated": "completed",
        "file_synced": "completed",
        "journal_removed": None,
    }[step]
    assert [o.action for o in outcomes] == ([expected] if expected else [])
    assert read_info(path) == (xml if expected in ("completed", None) else old)
    assert page_hashes(path) == pages
    assert tool_errors(path) == []
    assert list(jdir.iterdir()) == []
    assert journal.recover(jdir) == [], "recovery is idempotent"


def test_next_write_recovers_first(tmp_path: Path) -> None:
    path, jdir = build_cbz(tmp_path / "a.cbz"), tmp_path / "j"
    crashed_write(path, jdir, new_xml("Lost", 4000), "tail_partly_written")
    assert write_comicinfo_inplace(path, new_xml("Next"), jdir)
    assert read_info(path) == new_xml("Next")
    assert tool_errors(path) == []
    assert list(jdir.iterdir()) == []


def test_io_error_rolls_back_at_once(tmp_path: Path) -> None:
    path, jdir = build_cbz(tmp_path / "a.cbz"), tmp_path / "j"
    before = path.read_bytes()

    def fail(step: str) -> None:
        if step == "tail_partly_written":
            raise OSError(errno.EIO, "Input/output error")

    with pytest.raises(ArchiveError, match="failed \\(Input/output error\\); the archive is unchanged"):
        write_comicinfo_inplace(path, new_xml("New", 5000), jdir, step_hook=fail)
    assert path.read_bytes() == before
    assert list(jdir.iterdir()) == []


def test_vanished_archive_drops_its_journal(tmp_path: Path) -> None:
    path, jdir = build_cbz(tmp_path / "a.cbz"), tmp_path / "j"
    crashed_write(path, jdir, new_xml("New"), "tail_partly_written")
    path.unlink()
    outcomes = journal.recover(jdir)
    assert [(o.path, o.action) for o in outcomes] == [(path, "dropped_missing")]
    assert list(jdir.iterdir()) == []


def test_replaced_archive_is_left_alone(tmp_path: Path) -> None:
    path, jdir = build_cbz(tmp_path / "a.cbz"), tmp_path / "j"
    crashed_write(path, jdir, new_xml("New"), "tail_partly_written")
    other = build_cbz(tmp_path / "other.cbz", pages=9, xml=new_xml("Other"))
    shutil.copyfile(other, path)
    assert [o.action for o in journal.recover(jdir)] == ["dropped_changed"]
    assert path.read_bytes() == other.read_bytes()


def test_journal_cut_short_is_dropped(tmp_path: Path) -> None:
    path, jdir = build_cbz(tmp_path / "a.cbz"), tmp_path / "j"
    crashed_write(path, jdir, new_xml("New"), "journal_written")
    (jpath,) = jdir.iterdir()
    jpath.write_bytes(jpath.read_bytes()[:-100])
    assert [o.action for o in journal.recover(jdir)] == ["dropped_unfinished"]
    assert list(jdir.iterdir()) == []
    assert read_info(path) == OLD_XML


def test_journal_back_after_a_lost_unlink_is_dropped(tmp_path: Path) -> None:
    """The journal is unlinked without a folder fsync; a power cut may bring it back."""
    path, jdir = build_cbz(tmp_path / "a.cbz"), tmp_path / "j"
    saved: list[tuple[Path, bytes]] = []

    def keep_journal(step: str) -> None:
        if step == "file_synced":
            saved.extend((p, p.read_bytes()) for p in jdir.iterdir())

    assert write_comicinfo_inplace(path, new_xml("New"), jdir, step_hook=keep_journal)
    for jpath, data in saved:
        jpath.write_bytes(data)
    assert [o.action for o in journal.recover(jdir)] == ["completed"]
    assert read_info(path) == new_xml("New")
    assert list(jdir.iterdir()) == []


def test_recover_path_only_touches_its_file(tmp_path: Path) -> None:
    jdir = tmp_path / "j"
    a, b = build_cbz(tmp_path / "a.cbz"), build_cbz(tmp_path / "b.cbz")
    crashed_write(a, jdir, new_xml("A"), "tail_partly_written")
    crashed_write(b, jdir, new_xml("B"), "tail_partly_written")
    assert journal.recover_path(tmp_path / "c.cbz", jdir) is None
    outcome = journal.recover_path(a, jdir)
    assert outcome is not None and outcome.action == "rolled_back"
    assert len(list(jdir.iterdir())) == 1
    assert [o.path for o in journal.recover(jdir)] == [b]
