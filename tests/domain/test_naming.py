"""Naming rules with plain values: parsing real-world names, issue numbers, safe rendering."""

from __future__ import annotations

import pytest

from comicmaintainer.domain.naming import (
    NamingRules,
    ParsedName,
    TemplateError,
    clean_issue,
    pad_issue,
    parse_name,
    render_filename,
    safe_filename_part,
    series_from_folder,
    validate_template,
)

# (file name, folder, series, issue, volume, year)
PARSE_CASES = [
    # chapter markers
    ("Chapter 5.cbz", None, None, "5", None, None),
    ("Re_Zero Ch.71.4.cbz", None, "Re:Zero", "71.4", None, None),
    ("One Piece ch-12.cbz", None, "One Piece", "12", None, None),
    ("Naruto Ch 5.cbz", None, "Naruto", "5", None, None),
    ("Naruto Ch. 700.cbz", None, "Naruto", "700", None, None),
    ("Berserk c045.cbz", None, "Berserk", "45", None, None),
    ("Berserk #007.cbz", None, "Berserk", "7", None, None),
    ("Bleach Chapter 071.11.cbz", None, "Bleach", "71.11", None, None),
    ("Bleach Chapter 071.10.cbz", None, "Bleach", "71.1", None, None),
    ("Vinland Saga chapter 5a.cbz", None, "Vinland Saga", "5a", None, None),
    ("Chainsaw Man - Chapter 0097.cbz", None, "Chainsaw Man", "97", None, None),
    ("Chainsaw Man - Chapter 000.5.cbz", None, "Chainsaw Man", "0.5", None, None),
    # bare numbers
    ("Series 012.cbz", None, "Series", "12", None, None),
    ("Series - 012 (2019) [Group].cbz", None, "Series", "12", None, "2019"),
    ("[Group] Series - 012 (2019).cbz", None, "Series", "12", None, "2019"),
    ("Vinland Saga 071.cbz", None, "Vinland Saga", "71", None, None),
    ("Dr. Stone 012.5.cbz", None, "Dr. Stone", "12.5", None, None),
    ("One Piece 1044.5.cbr", None, "One Piece", "1044.5", None, None),
    ("X-Men '97 001.cbz", None, "X-Men '97", "1", None, None),
    ("20th Century Boys 012.cbz", None, "20th Century Boys", "12", None, None),
    ("Batman 1a.cbz", None, "Batman", "1a", None, None),
    ("Series ½.cbz", None, "Series", "½", None, None),
    ("Saga #54 (2018) (Digital) (Zone-Empire).cbr", None, "Saga", "54", None, "2018"),
    ("Amazing Spider-Man 001 (2022) (Webrip).cbz", None, "Amazing Spider-Man", "1", None, "2022"),
    ("The Walking Dead 100 (2012) (Digital).cbz", None, "The Walking Dead", "100", None, "2012"),
    ("Batman 001 (of 12).cbz", None, "Batman", "1", None, None),
    ("012.cbz", None, None, "12", None, None),
    # a year is never the issue
    ("Batman (2021) 005.cbz", None, "Batman", "5", None, "2021"),
    ("Batman [2021] 005.cbz", None, "Batman", "5", None, "2021"),
    ("Batman 005 [2021].cbz", None, "Batman", "5", None, "2021"),
    ("Batman (2021).cbz", None, "Batman", None, None, "2021"),
    # a volume is never the issue
    ("Batman v2 012 (2021).cbz", None, "Batman", "12", "2", "2021"),
    ("Attack on Titan v02 c007.cbz", None, "Attack on Titan", "7", "2", None),
    ("Attack on Titan v02.cbz", None, "Attack on Titan", None, "2", None),
    ("Batman Vol. 3 Chapter 10.cbz", None, "Batman", "10", "3", None),
    ("Batman Volume 3 012.cbz", None, "Batman", "12", "3", None),
    ("Batman Volume 3.cbz", None, "Batman", None, "3", None),
    ("Kaguya-sama - Love is War v01 ch 001.cbz", None, "Kaguya-sama - Love is War", "1", "1", None),
    ("Dorohedoro Vol.3 Ch.15.cbz", None, "Dorohedoro", "15", "3", None),
    # a page or cover count is never the issue
    ("Spider-Man 001 (24 pages) [12p] (2 covers).cbz", None, "Spider-Man", "1", None, None),
    ("Spider-Man (24 pages).cbz", None, "Spider-Man", None, None, None),
    ("Spider-Man [12p] (2 covers).cbz", None, "Spider-Man", None, None, None),
    # underscores and dots as word separators
    ("One_Piece_v02_c012.cbz", None, "One Piece", "12", "2", None),
    ("One.Piece.ch.71.4.cbz", None, "One Piece", "71.4", None, None),
    ("Re_Zero - Chapter 0005.cbz", None, "Re:Zero", "5", None, None),
    ("Re_Zero 0005.cbz", None, "Re:Zero", "5", None, None),
    # the folder's series
    ("Chapter 5.cbz", "Re_Zero", "Re:Zero", "5", None, None),
    ("Re_Zero 012.cbz", "Re_Zero", "Re:Zero", "12", None, None),
    ("Re Zero ch 3.cbz", "Re_Zero", "Re:Zero", "3", None, None),
    ("re zero - 007 (2016).cbz", "Re_Zero", "Re:Zero", "7", None, "2016"),
    ("Mob Psycho 100 012.cbz", "Mob Psycho 100", "Mob Psycho 100", "12", None, None),
    ("Mob Psycho 100 v2 012.cbz", "Mob Psycho 100", "Mob Psycho 100", "12", "2", None),
    ("Berserk c045.cbz", "Re_Zero", "Berserk", "45", None, None),
    # nothing to find
    ("cover.cbz", None, "cover", None, None, None),
]


@pytest.mark.parametrize(("filename", "folder", "series", "issue", "volume", "year"), PARSE_CASES)
def test_parse_name_reads_real_world_names(
    filename: str,
    folder: str | None,
    series: str | None,
    issue: str | None,
    volume: str | None,
    year: str | None,
) -> None:
    parsed = parse_name(filename, folder)
    assert (parsed.series, parsed.issue, parsed.volume, parsed.year) == (series, issue, volume, year)


def test_parse_case_table_is_large() -> None:
    assert len(PARSE_CASES) >= 40


def test_parse_name_reads_a_title_after_the_chapter() -> None:
    parsed = parse_name("Berserk c045 - The Black Swordsman (24 pages).cbz")
    assert parsed == ParsedName(series="Berserk", issue="45", title="The Black Swordsman", kind="chapter")


def test_parse_name_of_empty_text_finds_nothing() -> None:
    assert parse_name("") == ParsedName()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("007", "7"),
        ("0", "0"),
        ("000", "0"),
        ("000.5", "0.5"),
        (".5", "0.5"),
        ("71.40", "71.4"),
        ("71.4", "71.4"),
        ("71.11", "71.11"),
        ("71.10", "71.1"),
        ("5.0", "5"),
        ("5.", "5"),
        ("1a", "1a"),
        ("01a", "1a"),
        ("½", "½"),
        ("-1", "-1"),
        ("-01", "-1"),
        ("-0.5", "-0.5"),
        ("-0", "0"),
        ("5.MU", "5.MU"),
        ("  12  ", "12"),
        ("#12", "12"),
        ("", None),
        ("   ", None),
    ],
)
def test_clean_issue(text: str, expected: str | None) -> None:
    assert clean_issue(text) == expected


@pytest.mark.parametrize(
    ("issue", "width", "expected"),
    [
        ("5", 4, "0005"),
        ("71.4", 4, "0071.4"),
        ("71.11", 4, "0071.11"),
        ("12345", 4, "12345"),
        ("5", 0, "5"),
        ("5", 3, "005"),
        ("-1", 4, "-001"),
        ("½", 4, "½"),
        ("1a", 4, "0001a"),
        ("0.5", 4, "0000.5"),
        ("5.MU", 3, "005.MU"),
    ],
)
def test_pad_issue(issue: str, width: int, expected: str) -> None:
    assert pad_issue(issue, width) == expected


@pytest.mark.parametrize(
    ("folder", "series"),
    [
        ("Re_Zero", "Re:Zero"),
        ("  Berserk ", "Berserk"),
        ("Steins_Gate 0", "Steins:Gate 0"),
        ("One Piece", "One Piece"),
    ],
)
def test_series_from_folder(folder: str, series: str) -> None:
    assert series_from_folder(folder) == series


@pytest.mark.parametrize("series", ["Re:Zero", "Steins:Gate 0", "Berserk", "Kaguya-sama: Love Is War"])
def test_series_survives_a_round_trip_through_a_folder_name(series: str) -> None:
    folder = safe_filename_part(series)
    assert ":" not in folder
    assert series_from_folder(folder) == series


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Re:Zero", "Re_Zero"),
        ("AC/DC", "AC-DC"),
        ("Back\\slash", "Back-slash"),
        ("Either|Or", "Either-Or"),
        ("What If?", "What If"),
        ("M*A*S*H", "MASH"),
        ('Say "hi"', "Say 'hi'"),
        ("<Prologue>", "(Prologue)"),
        ("Tab\there", "Tab here"),
        ("Line\nbreak\x00nul\x7f", "Line break nul"),
        ("  leading", "leading"),
        ("trailing dots...", "trailing dots"),
        ("trailing . . ", "trailing"),
        ("Double  space", "Double space"),
        ("CON", "CON_"),
        ("nul", "nul_"),
        ("COM1", "COM1_"),
        ("lpt9.cbz", "lpt9_.cbz"),
        ("Con Air", "Con Air"),
        ("CONTROL", "CONTROL"),
        ("漢字 ok", "漢字 ok"),
    ],
)
def test_safe_filename_part(text: str, expected: str) -> None:
    assert safe_filename_part(text) == expected


def _render(template: str, extension: str = ".cbz", padding: int = 4, **fields: str | None) -> str:
    return render_filename(NamingRules(template, padding), fields, extension)


FULL = {"series": "Batman", "issue": "5", "title": "Dark", "volume": "2", "year": "2019", "publisher": "DC"}


@pytest.mark.parametrize(
    ("template", "bare", "full"),
    [
        ("{series} - Chapter {issue}", "Batman - Chapter 0005", "Batman - Chapter 0005"),
        ("{series} ({year}) {issue}", "Batman 0005", "Batman (2019) 0005"),
        ("{series} v{volume} - {issue}", "Batman - 0005", "Batman v02 - 0005"),
        ("{series} (v{volume}) #{issue_no_pad}", "Batman #5", "Batman (v02) #5"),
        ("{series} [{year} {publisher}] {issue}", "Batman 0005", "Batman [2019 DC] 0005"),
        ("{series} - {title} - {issue}", "Batman - 0005", "Batman - Dark - 0005"),
        ("{volume} - {series} - {issue}", "Batman - 0005", "02 - Batman - 0005"),
        ("{series}-{volume}-{issue}", "Batman-0005", "Batman-02-0005"),
        ("{series} {issue} ({year}) ({publisher})", "Batman 0005", "Batman 0005 (2019) (DC)"),
        ("{series} {issue} - {title}", "Batman 0005", "Batman 0005 - Dark"),
    ],
)
def test_render_filename_leaves_no_debris_of_empty_fields(template: str, bare: str, full: str) -> None:
    assert _render(template, series="Batman", issue="5") == bare + ".cbz"
    assert render_filename(NamingRules(template), FULL, ".cbz") == full + ".cbz"


def test_render_filename_keeps_debris_like_text_inside_values() -> None:
    name = _render("{series} - {issue}", series="Hunter x Hunter - - (Remake)", issue="5")
    assert name == "Hunter x Hunter - - (Remake) - 0005.cbz"


@pytest.mark.parametrize(
    ("issue", "padding", "expected"),
    [
        ("5", 4, "0005"),
        ("007", 4, "0007"),
        ("71.4", 4, "0071.4"),
        ("71.11", 4, "0071.11"),
        ("71.40", 3, "071.4"),
    ]
    + [("5", 0, "5"), ("-1", 4, "-001"), ("½", 4, "½"), ("1a", 4, "0001a")],
)
def test_render_filename_pads_the_issue(issue: str, padding: int, expected: str) -> None:
    assert (
        _render("{issue} {issue_no_pad}", padding=padding, issue=issue)
        == f"{expected} {clean_issue(issue)}.cbz"
    )


@pytest.mark.parametrize(
    ("extension", "expected"), [(".CBZ", ".cbz"), ("cbr", ".cbr"), (".Cbz", ".cbz"), ("", "")]
)
def test_render_filename_lower_cases_the_extension(extension: str, expected: str) -> None:
    assert _render("{series} {issue}", extension, series="Saga", issue="1") == f"Saga 0001{expected}"


def test_render_filename_makes_every_part_safe() -> None:
    name = _render("{series}: {title} - {issue}", series="Re:Zero/Side?", issue="3", title='"Ice" <1>')
    assert name == "Re_Zero-Side_ 'Ice' (1) - 0003.cbz"


def test_render_filename_never_names_a_windows_device() -> None:
    assert _render("{issue_no_pad}", ".cbz", series=None, issue="1") == "1.cbz"
    assert _render("{series}{issue_no_pad}", ".cbz", series="COM", issue="1") == "COM1_.cbz"


def test_render_filename_refuses_a_bad_template_or_a_missing_issue() -> None:
    with pytest.raises(TemplateError):
        _render("{series} {nope} {issue}", series="Batman", issue="5")
    with pytest.raises(TemplateError):
        _render("{series}", series="Batman", issue="5")
    with pytest.raises(ValueError, match="no issue"):
        _render("{series} {issue}", series="Batman", issue=" ")


@pytest.mark.parametrize("char", ["a", "é", "漢", "😀"])
def test_render_filename_trims_a_long_series_to_255_bytes(char: str) -> None:
    name = _render("{series} - Chapter {issue}", ".cbz", series=char * 300, issue="71.11")
    encoded = name.encode("utf-8")
    assert len(encoded) <= 255
    assert len(encoded) > 255 - len(char.encode("utf-8"))  # cut no more than needed
    assert name.endswith(" - Chapter 0071.11.cbz")
    assert set(name.removesuffix(" - Chapter 0071.11.cbz")) == {char}  # whole characters only


def test_render_filename_trims_the_title_when_the_series_is_not_enough() -> None:
    name = _render("{series} {title} {issue}", series="S", title="t" * 300, issue="1")
    assert len(name.encode("utf-8")) == 255
    assert name.startswith("S t") and name.endswith(" 0001.cbz")


def test_render_filename_refuses_a_template_too_long_to_fit() -> None:
    with pytest.raises(TemplateError, match="255"):
        _render("x" * 300 + " {issue}", series="S", issue="1")


def test_validate_template_accepts_every_placeholder() -> None:
    validate_template("{series} {issue} {issue_no_pad} {title} {volume} {year} {publisher}")


def test_a_rendered_name_never_starts_with_a_dot() -> None:
    rules = NamingRules()
    assert render_filename(rules, {"series": ".hack", "issue": "3"}, ".cbz") == "hack - Chapter 0003.cbz"


@pytest.mark.parametrize(
    "name", ["Berserk - (2021).cbz", " - .cbz", "-.cbz", "Berserk - [Group].cbz", "of_1.cbz"]
)
def test_names_with_nothing_after_the_folder_series_are_read_without_failing(name: str) -> None:
    assert parse_name(name, "Berserk").series == "Berserk"
