"""Ranking and the field rules, on plain values."""

from __future__ import annotations

from comicmaintainer.metadata import match
from comicmaintainer.metadata.model import SeriesHints, SeriesRecord


def rec(id: str, title: str, year: int | None = None, count: int | None = None, **kw: object) -> SeriesRecord:
    return SeriesRecord("anilist", id, title, year=year, count=count, **kw)  # type: ignore[arg-type]


def test_exact_title_is_confident_and_leads_a_longer_one() -> None:
    ranked = match.rank(SeriesHints("Berserk"), [rec("2", "Berserk of Gluttony"), rec("1", "Berserk")])
    assert [c.record.id for c in ranked] == ["1", "2"]
    chosen = match.choose(ranked)
    assert chosen is not None and chosen.record.id == "1"


def test_two_series_of_one_name_need_a_person() -> None:
    ranked = match.rank(SeriesHints("Monster"), [rec("3", "Monster", 1994), rec("4", "Monster", 2012)])
    assert match.choose(ranked) is None


def test_the_year_in_the_folder_name_settles_it() -> None:
    hints = match.hints_from_folder("Monster (1994)")
    assert (hints.name, hints.year) == ("Monster", 1994)
    ranked = match.rank(hints, [rec("4", "Monster", 2012), rec("3", "Monster", 1994)])
    chosen = match.choose(ranked)
    assert chosen is not None and chosen.record.id == "3"


def test_a_source_knowing_fewer_chapters_than_the_folder_scores_lower() -> None:
    few, many = rec("1", "Saga", count=5), rec("2", "Saga", count=60)
    hints = SeriesHints("Saga", chapters=20)
    assert match.score(hints, many) - match.score(hints, few) == match.COUNT_PENALTY


def test_an_alternative_title_counts() -> None:
    record = rec("1", "Attack on Titan", alt_titles=("Shingeki no Kyojin",))
    assert match.score(SeriesHints("Shingeki no Kyojin"), record) == 100


def test_nothing_close_enough_is_no_match() -> None:
    assert match.choose(match.rank(SeriesHints("Berserk"), [rec("9", "Bleach")])) is None
    assert match.choose([]) is None


def test_fields_are_comicinfo_20_elements_only() -> None:
    record = rec("1", "Berserk", 1989, 374, summary="S", genres=("Action", "Drama"), tags=("Revenge",),
                 writers=("Kentaro Miura",), artists=("Kentaro Miura",), manga="YesAndRightToLeft",
                 language="ja", web="https://anilist.co/manga/1", localized_series="Beruseruku")  # fmt: skip
    fields = match.fields_for(record)
    assert fields == {
        "Summary": "S", "Genre": "Action, Drama", "Writer": "Kentaro Miura", "Penciller": "Kentaro Miura",
        "Year": "1989", "LanguageISO": "ja", "Manga": "YesAndRightToLeft", "Web": "https://anilist.co/manga/1",
        "Count": "374",
    }  # fmt: skip


def test_changes_fill_only_what_is_empty_by_default() -> None:
    current = {"Series": "Berserk", "Summary": "mine", "Genre": None, "Manga": "Unknown"}
    wanted = {"Series": "BERSERK", "Summary": "theirs", "Genre": "Action", "Manga": "YesAndRightToLeft"}
    assert match.changes(current, wanted) == {"Genre": "Action", "Manga": "YesAndRightToLeft"}
    assert match.changes(current, wanted, overwrite=True) == {
        "Summary": "theirs", "Genre": "Action", "Manga": "YesAndRightToLeft",
    }  # fmt: skip


def test_a_persons_field_and_rule_owned_fields_never_change() -> None:
    current = {"Genre": "Horror", "Title": "Chapter 1", "Number": "1"}
    wanted = {"Genre": "Action", "Title": "The Black Swordsman", "Number": "2", "Year": "1989"}
    assert match.changes(current, wanted, overwrite=True, kept={"Genre"}) == {"Year": "1989"}


def test_nothing_to_write_when_the_file_already_holds_it() -> None:
    assert match.changes({"Year": "1989"}, {"Year": "1989"}, overwrite=True) == {}
