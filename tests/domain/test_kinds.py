"""Kinds of book with plain values: names and tags per kind, titles, and what makes a duplicate."""

from __future__ import annotations

import dataclasses

import pytest

from comicmaintainer.domain.kinds import Book, distinguishing_marks, same_book
from comicmaintainer.domain.naming import NamingRules, TemplateError, render_filename, validate_template
from comicmaintainer.domain.plan import FilePlan, Tags, plan_file
from comicmaintainer.domain.templates import validate_title_template

RULES = NamingRules()
WITH_TITLES = NamingRules(title_template="Chapter {issue} - {chapter_title}")

# (path, new path, Number, Title, Volume, Format)
KIND_CASES = [
    ("Berserk/Berserk v01.cbz", "Berserk/Berserk - Volume 01.cbz", None, "Volume 1", "1", None),
    (
        "Solo Leveling/Solo Leveling c001-010.cbz",
        "Solo Leveling/Solo Leveling - Chapter 0001-0010.cbz",
        "1",
        "Chapters 1-10",
        None,
        None,
    ),
    (
        "Spy x Family/Spy x Family Ch.050 Part 2.cbz",
        "Spy x Family/Spy x Family - Chapter 0050 Part 2.cbz",
        "50",
        "Chapter 50 Part 2",
        None,
        None,
    ),
    (
        "Hellsing/Hellsing Vol.10 Extra.cbz",
        "Hellsing/Hellsing - Volume 10 Extra.cbz",
        None,
        "Volume 10 Extra",
        "10",
        "Special",
    ),
    ("Berserk/Berserk Extra 1.cbz", "Berserk/Berserk - Extra 1.cbz", None, "Extra 1", None, "Special"),
    (
        "Berserk/Berserk Ch.10 Omake.cbz",
        "Berserk/Berserk - Chapter 0010 Omake.cbz",
        "10.5",
        "Chapter 10 Omake",
        None,
        "Special",
    ),
    ("Fire Punch/Oneshot.cbz", "Fire Punch/Fire Punch - Oneshot.cbz", None, "Oneshot", None, "Special"),
    (
        "Batman/Batman (2016) Volume 03 Issue 001.cbz",
        "Batman/Batman - Chapter 0001.cbz",
        "1",
        "Chapter 1",
        "3",
        None,
    ),
    ("Dandadan/[0001]_Chapter_1.cbz", "Dandadan/Dandadan - Chapter 0001.cbz", "1", "Chapter 1", None, None),
]


def _applied(plan: FilePlan) -> tuple[str, Tags]:
    """The path and tags once ``plan`` was carried out: a cleared tag reads back as absent."""
    after = plan.tags_after
    cleared = {f.name: None for f in dataclasses.fields(Tags) if getattr(after, f.name) == ""}
    return plan.new_rel_path or plan.rel_path, dataclasses.replace(after, **cleared)


@pytest.mark.parametrize(("rel", "new", "number", "title", "volume", "fmt"), KIND_CASES)
def test_each_kind_gets_its_name_and_tags_and_a_second_plan_changes_nothing(
    rel: str, new: str, number: str | None, title: str, volume: str | None, fmt: str | None
) -> None:
    plan = plan_file(rel, Tags(), RULES)
    assert plan.new_rel_path == new
    after = plan.tags_after
    assert (after.issue, after.title, after.volume, after.format) == (number, title, volume, fmt)
    again = plan_file(*_applied(plan), RULES)
    assert again.normalized and not again.changes_anything


def test_a_volume_loses_a_number_unless_volumes_are_numbered() -> None:
    current = Tags(series="Berserk", issue="3", volume="3")
    plan = plan_file("Berserk/Berserk v03.cbz", current, RULES)
    assert plan.tags_after.issue == ""
    assert plan.tag_changes["issue"] == ("3", "")
    numbered = plan_file("Berserk/Berserk v03.cbz", Tags(), dataclasses.replace(RULES, number_volumes=True))
    assert numbered.tags_after.issue == "3"
    assert numbered.tags_after.volume == "3"


def test_a_volume_in_the_tags_alone_makes_a_volume() -> None:
    plan = plan_file("Berserk/cover.cbz", Tags(volume="7"), RULES)
    assert plan.kind == "volume"
    assert plan.new_rel_path == "Berserk/Berserk - Volume 07.cbz"


def test_a_format_tag_special_makes_a_special() -> None:
    plan = plan_file("Berserk/Berserk 5.cbz", Tags(format="Special"), RULES)
    assert plan.kind == "special"
    assert plan.new_rel_path == "Berserk/Berserk - Chapter 0005 Special.cbz"
    assert plan_file(*_applied(plan), RULES).normalized


def test_chapter_title_goes_into_the_title_when_the_template_asks_and_survives_a_rename() -> None:
    rel = "Yotsuba/Doki Fansubs_Vol.9 Ch.97 - Coffee Break.cbz"
    assert plan_file(rel, Tags(), RULES).tags_after.title == "Chapter 97"
    plan = plan_file(rel, Tags(), WITH_TITLES)
    assert plan.tags_after.title == "Chapter 97 - Coffee Break"
    assert plan.new_rel_path == "Yotsuba/Yotsuba - Chapter 0097.cbz"
    again = plan_file(*_applied(plan), WITH_TITLES)  # the new name has no title: the tag keeps it
    assert again.normalized


def test_chapter_title_of_other_kinds_follows_what_they_are() -> None:
    plan = plan_file("Akira/Akira Ch.10-12 - Tetsuo.cbz", Tags(), WITH_TITLES)
    assert plan.tags_after.title == "Chapters 10-12 - Tetsuo"
    assert plan_file(*_applied(plan), WITH_TITLES).normalized


def test_chapter_title_placeholder_in_the_file_name() -> None:
    rules = NamingRules(template="{series} - Chapter {issue} - {chapter_title}")
    plan = plan_file("Yotsuba/Doki Fansubs_Vol.9 Ch.97 - Coffee Break.cbz", Tags(), rules)
    assert plan.new_rel_path == "Yotsuba/Yotsuba - Chapter 0097 - Coffee Break.cbz"


def test_two_ranges_from_one_start_are_two_books() -> None:
    a = plan_file("X/X c001-010.cbz", Tags(), RULES)
    b = plan_file("X/X c001-005.cbz", Tags(), RULES)
    assert a.new_rel_path != b.new_rel_path


def test_a_name_taken_by_the_same_book_is_a_duplicate() -> None:
    taken = {"X/X - Chapter 0005.cbz": Tags(series="X", issue="5", title="Chapter 5")}
    plan = plan_file("X/X ch 5 [other group].cbz", Tags(), RULES, occupant=taken.get)
    assert plan.new_rel_path == "X/X - Chapter 0005.cbz"  # the pipeline sets it aside there


def test_a_name_taken_by_a_different_volume_keeps_the_volume() -> None:
    taken = {"X/X - Chapter 0001.cbz": Tags(series="X", issue="1", volume="1")}
    plan = plan_file("X/X Vol.2 Ch.1.cbz", Tags(), RULES, occupant=taken.get)
    assert plan.new_rel_path == "X/X - Chapter 0001 (Volume 02).cbz"
    again = plan_file(*_applied(plan), RULES, occupant=taken.get)
    assert again.normalized


def test_a_name_taken_by_a_different_kind_keeps_the_kind() -> None:
    rules = NamingRules(
        template="{series} {issue_no_pad}", volume_template="{series} {volume}", volume_padding=0
    )
    taken = {"X/X 3.cbz": Tags(series="X", issue="3")}
    plan = plan_file("X/X v3.cbz", Tags(), rules, occupant=taken.get)
    assert plan.new_rel_path == "X/X 3 (Volume).cbz"


def test_marks_only_what_the_template_lacks() -> None:
    mine, other = Book("chapter", issue="5", volume="2"), Book("chapter", issue="5", volume="1")
    assert distinguishing_marks(mine, other, "{series} {issue}", RULES) == " (Volume 02)"
    assert distinguishing_marks(mine, other, "{series} {volume} {issue}", RULES) is None


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (Book("chapter", issue="5"), Book("chapter", issue="5", volume="1"), True),
        (Book("chapter", issue="5", volume="2"), Book("chapter", issue="5", volume="1"), False),
        (Book("part", issue="5", part="1"), Book("part", issue="5", part="2"), False),
        (Book("range", issue="1", issue_end="5"), Book("range", issue="1", issue_end="10"), False),
        (Book("chapter", issue="5"), Book("part", issue="5", part="1"), False),
        (Book("special", special="Extra 1"), Book("special", special="extra 1"), True),
        (Book("special", special="Extra 1"), Book("special", special="Extra 2"), False),
        (Book("volume", volume="3"), Book("volume", volume="3", chapter_title="Other"), True),
    ],
)
def test_same_book(a: Book, b: Book, same: bool) -> None:
    assert same_book(a, b) is same
    assert same_book(b, a) is same


@pytest.mark.parametrize(
    ("template", "kind", "message"),
    [
        ("{series} - Volume", "volume", "volume format must contain {volume}"),
        ("{series} - Chapter {issue}", "range", "range format must contain {issue_end}"),
        ("{series} - {issue}", "part", "part format must contain {part}"),
        ("{series}", "special", "special format must contain {special}"),
        ("{series} {volume}", "chapter", "filename format must contain {issue} or {issue_no_pad}"),
    ],
)
def test_each_kind_template_must_hold_what_tells_its_books_apart(
    template: str, kind: str, message: str
) -> None:
    with pytest.raises(TemplateError, match=message.replace("{", r"\{").replace("}", r"\}")):
        validate_template(template, kind)


def test_title_template_knows_its_placeholders() -> None:
    validate_title_template("Chapter {issue} - {chapter_title}")
    with pytest.raises(TemplateError, match="unknown placeholder"):
        validate_title_template("Chapter {part}")


def test_volume_padding_and_range_end_padding() -> None:
    rules = NamingRules(padding=3, volume_padding=3)
    fields = {"series": "X", "issue": "1", "issue_end": "12", "volume": "4"}
    assert render_filename(rules, fields, ".cbz", "range") == "X - Chapter 001-012.cbz"
    assert render_filename(rules, fields, ".cbz", "volume") == "X - Volume 004.cbz"
