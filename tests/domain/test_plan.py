"""File plans with plain values: what a file's tags and name should become."""

from __future__ import annotations

import dataclasses

import pytest

from comicmaintainer.domain.naming import NamingRules
from comicmaintainer.domain.plan import FilePlan, Tags, plan_file

RULES = NamingRules()


def _applied(plan: FilePlan) -> tuple[str, Tags]:
    """The path and tags a file has once ``plan`` was carried out."""
    return plan.new_rel_path or plan.rel_path, plan.tags_after


def test_messy_file_in_a_series_folder_gets_series_issue_title_and_name() -> None:
    plan = plan_file("Re_Zero/messy name ch 5.cbz", Tags(), RULES)
    assert plan.tags_after == Tags(series="Re:Zero", issue="5", title="Chapter 5")
    assert plan.new_rel_path == "Re_Zero/Re_Zero - Chapter 0005.cbz"
    assert plan.tag_changes == {
        "series": (None, "Re:Zero"),
        "issue": (None, "5"),
        "title": (None, "Chapter 5"),
    }
    assert plan.needs_attention is None
    assert not plan.normalized
    assert plan.changes_anything


def test_folder_wins_over_the_series_of_the_tags_and_of_the_name() -> None:
    current = Tags(series="Re Zero kara", issue="12", title="Chapter 12", year="2016")
    plan = plan_file("Library/Re_Zero/Something Else 012.cbz", current, RULES)
    assert plan.tags_after == dataclasses.replace(current, series="Re:Zero")
    assert plan.tag_changes == {"series": ("Re Zero kara", "Re:Zero")}
    assert plan.new_rel_path == "Library/Re_Zero/Re_Zero - Chapter 0012.cbz"


def test_issue_of_the_tags_wins_over_the_name_and_is_cleaned() -> None:
    plan = plan_file("Berserk/Berserk c045.cbz", Tags(series="Berserk", issue=" 007 "), RULES)
    assert plan.tags_after.issue == "7"
    assert plan.tags_after.title == "Chapter 7"
    assert plan.new_rel_path == "Berserk/Berserk - Chapter 0007.cbz"


def test_decimal_issue_keeps_its_digits() -> None:
    plan = plan_file("Re_Zero/Re_Zero Ch.71.40.cbz", Tags(), RULES)
    assert plan.tags_after.issue == "71.4"
    assert plan.tags_after.title == "Chapter 71.4"
    assert plan.new_rel_path == "Re_Zero/Re_Zero - Chapter 0071.4.cbz"


def test_file_in_the_root_keeps_the_series_of_its_tags() -> None:
    plan = plan_file("loose ch 3.cbz", Tags(series="Steins:Gate", issue="3"), RULES)
    assert plan.tags_after.series == "Steins:Gate"
    assert plan.new_rel_path == "Steins_Gate - Chapter 0003.cbz"


def test_file_in_the_root_without_series_tag_takes_the_series_of_its_name() -> None:
    plan = plan_file("Vinland Saga 071 (2019) [Group].cbz", Tags(), RULES)
    assert plan.tags_after == Tags(series="Vinland Saga", issue="71", title="Chapter 71")
    assert plan.new_rel_path == "Vinland Saga - Chapter 0071.cbz"


def test_no_issue_anywhere_needs_attention_and_changes_nothing() -> None:
    current = Tags(series="Berserk")
    plan = plan_file("Berserk/cover.cbz", current, RULES)
    assert plan.needs_attention == "no issue number or volume in the tags or the file name"
    assert (plan.new_rel_path, plan.tag_changes, plan.tags_after) == (None, {}, current)
    assert not plan.normalized
    assert not plan.changes_anything


def test_no_series_anywhere_needs_attention() -> None:
    plan = plan_file("Chapter 5.cbz", Tags(), RULES)
    assert plan.needs_attention is not None
    assert "series" in plan.needs_attention
    assert (plan.new_rel_path, plan.tag_changes, plan.normalized) == (None, {}, False)


def test_already_normalized_file_changes_nothing() -> None:
    current = Tags(series="Re:Zero", issue="5", title="Chapter 5", volume="1", publisher="Yen Press")
    plan = plan_file("Re_Zero/Re_Zero - Chapter 0005.cbz", current, RULES)
    assert plan.normalized
    assert not plan.changes_anything
    assert (plan.new_rel_path, plan.tag_changes, plan.needs_attention) == (None, {}, None)
    assert plan.tags_after == current


@pytest.mark.parametrize(
    ("rel_path", "current"),
    [
        ("Re_Zero/messy name ch 5.cbz", Tags()),
        ("Kaguya-sama_ Love Is War/Kaguya v01 ch 001 (2019).CBZ", Tags(volume="1", year="2019")),
        ("One Piece/One.Piece.ch.1044.5.cbr", Tags(issue="1044.50")),
        ("loose - 012 [Group].cbz", Tags()),
        ("Saga #54 (2018) (Digital).cbr", Tags(publisher="Image")),
        ("A/B/" + "長" * 120 + "/x ch 2.cbz", Tags()),
    ],
)
def test_carrying_out_a_plan_leaves_nothing_more_to_do(rel_path: str, current: Tags) -> None:
    first = plan_file(rel_path, current, RULES)
    assert first.changes_anything
    again = plan_file(*_applied(first), RULES)
    assert again.normalized, again
    assert len(again.rel_path.rsplit("/", 1)[-1].encode("utf-8")) <= 255


def test_extension_is_lower_cased_and_alone_is_a_rename() -> None:
    current = Tags(series="Berserk", issue="45", title="Chapter 45")
    plan = plan_file("Berserk/Berserk - Chapter 0045.CBZ", current, RULES)
    assert plan.new_rel_path == "Berserk/Berserk - Chapter 0045.cbz"
    assert plan.tag_changes == {}
    assert not plan.normalized


def test_target_extension_names_the_converted_file() -> None:
    current = Tags(series="Berserk", issue="45", title="Chapter 45")
    plan = plan_file("Berserk/Berserk - Chapter 0045.cbr", current, RULES, target_extension=".cbz")
    assert plan.new_rel_path == "Berserk/Berserk - Chapter 0045.cbz"


def test_template_and_padding_come_from_the_rules() -> None:
    rules = NamingRules("{series} v{volume} #{issue} ({year})", padding=3)
    plan = plan_file("Batman/Batman 5.cbz", Tags(year="2016"), rules)
    assert plan.new_rel_path == "Batman/Batman #005 (2016).cbz"


def test_write_tags_off_plans_only_the_rename() -> None:
    plan = plan_file("Re_Zero/messy ch 5.cbz", Tags(), RULES, write_tags=False)
    assert plan.tag_changes == {}
    assert plan.tags_after == Tags()
    assert plan.new_rel_path == "Re_Zero/Re_Zero - Chapter 0005.cbz"
    assert not plan.normalized


def test_rename_off_plans_only_the_tags() -> None:
    plan = plan_file("Re_Zero/messy ch 5.cbz", Tags(), RULES, rename=False)
    assert plan.new_rel_path is None
    assert plan.tag_changes["issue"] == (None, "5")
    assert plan.changes_anything
    assert not plan.normalized


def test_plans_and_tags_are_frozen() -> None:
    plan = plan_file("Re_Zero/messy ch 5.cbz", Tags(), RULES)
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.new_rel_path = None  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.tags_after.series = "x"  # type: ignore[misc]
