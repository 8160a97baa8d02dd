"""The consistency check on a real library built to hold every finding, and its command line."""

from __future__ import annotations

import json
from pathlib import Path

from comicmaintainer.config import Settings
from comicmaintainer.domain.consistency import BookTags, check_books, parse_number
from comicmaintainer.library.consistency import check_library
from comicmaintainer.library.scanner import scan
from comicmaintainer.library.store import Store
from tests.archive_factory import make_cbz
from tests.test_cli import run_cli


def comicinfo(**fields: str) -> bytes:
    body = "".join(f"<{k}>{v}</{k}>" for k, v in fields.items())
    return f'<?xml version="1.0"?><ComicInfo>{body}</ComicInfo>'.encode()


def build_every_finding(root: Path) -> None:
    """Mixed/ disagrees on Series, LanguageISO, Manga and Volume presence; Numbers/ has a repeat, a
    gap, a word and a blank; a file sits in the root; Broken/ is not an archive; Clean/ is fine."""
    for n, (series, lang, manga, volume) in enumerate(
        [("Mixed", "en", "Yes", "1"), ("Mixed", "en", "Yes", "1"), ("Mixed Up", "ja", "No", "")], start=1
    ):
        extra = {"Volume": volume} if volume else {}
        info = comicinfo(Series=series, Number=str(n), LanguageISO=lang, Manga=manga, **extra)
        make_cbz(root / "Mixed" / f"Mixed - Chapter {n}.cbz", comicinfo=info, seed=n)
    for i, number in enumerate(["1", "2", "2", "4", "abc", ""]):
        fields = {"Series": "Numbers", **({"Number": number} if number else {})}
        make_cbz(root / "Numbers" / f"file {i}.cbz", comicinfo=comicinfo(**fields), seed=10 + i)
    for n in (1, 2, 3):
        make_cbz(
            root / "Clean" / f"Clean - Chapter {n}.cbz",
            comicinfo=comicinfo(Series="Clean", Number=str(n)),
            seed=20 + n,
        )
    make_cbz(root / "loose.cbz", comicinfo=comicinfo(Series="Loose", Number="1"), seed=30)
    (root / "Broken").mkdir()
    (root / "Broken" / "bad.cbz").write_bytes(b"this is not a zip archive at all")


def test_every_finding_is_found(settings: Settings) -> None:
    root = settings.watched_dir
    build_every_finding(root)
    with Store(settings.db_path) as store:
        scan(root, store)
        report = check_library(root, store)
    found = {(f.folder, f.kind): f for f in report.findings}
    assert set(found) == {
        ("", "outside_series_folder"),
        ("Broken", "unreadable"),
        ("Mixed", "mixed_series"),
        ("Mixed", "mixed_language"),
        ("Mixed", "mixed_manga"),
        ("Mixed", "mixed_volume"),
        ("Numbers", "number_repeated"),
        ("Numbers", "number_gap"),
        ("Numbers", "number_not_numeric"),
        ("Numbers", "number_missing"),
    }
    assert report.files == 14 and report.folders == 5
    assert found[("Mixed", "mixed_series")].paths == ("Mixed/Mixed - Chapter 3.cbz",)
    assert found[("Mixed", "mixed_series")].fix == {"action": "normalize"}
    assert found[("Mixed", "mixed_language")].fix == {"action": "tag_update", "tags": {"LanguageISO": "en"}}
    assert found[("Mixed", "mixed_volume")].paths == ("Mixed/Mixed - Chapter 3.cbz",)
    assert found[("Numbers", "number_repeated")].paths == ("Numbers/file 1.cbz", "Numbers/file 2.cbz")
    assert found[("Numbers", "number_gap")].values["missing"] == [3]
    assert found[("Numbers", "number_not_numeric")].values["numbers"] == {"Numbers/file 4.cbz": "abc"}
    assert found[("Numbers", "number_missing")].paths == ("Numbers/file 5.cbz",)
    assert found[("", "outside_series_folder")].paths == ("loose.cbz",)
    assert found[("", "outside_series_folder")].fix is None


def test_numbers_restart_per_volume_and_fractions_are_no_gap() -> None:
    books = [BookTags(f"S/{v}-{n}.cbz", "S", n, v) for v in ("1", "2") for n in ("1", "2", "2.5", "3")]
    assert check_books(books) == []
    assert parse_number("007") == parse_number("7")
    assert parse_number("1a") is None and parse_number(None) is None


def test_a_tie_gets_no_tag_fix() -> None:
    books = [BookTags("S/a.cbz", "S", "1", language="en"), BookTags("S/b.cbz", "S", "2", language="fr")]
    (finding,) = check_books(books)
    assert finding.kind == "mixed_language" and finding.fix is None


def test_check_command(settings: Settings, tmp_path: Path) -> None:
    build_every_finding(settings.watched_dir)
    done = run_cli("check", "--json", watched=settings.watched_dir, config=settings.config_dir)
    assert done.returncode == 1, done.stderr
    kinds = sorted(f["kind"] for f in json.loads(done.stdout)["findings"])
    assert kinds.count("number_gap") == 1 and len(kinds) == 10
    plain = run_cli("check", watched=settings.watched_dir, config=settings.config_dir)
    assert "Numbers: number_gap: the run 1–4 lacks 3" in plain.stdout
    assert "14 files in 5 folders, 10 findings" in plain.stderr
    clean = tmp_path / "clean"
    make_cbz(clean / "Clean" / "Clean - Chapter 1.cbz", comicinfo=comicinfo(Series="Clean", Number="1"))
    ok = run_cli("check", watched=clean, config=tmp_path / "config2")
    assert ok.returncode == 0 and ok.stdout == ""
