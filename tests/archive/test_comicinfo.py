from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from comicapi.genericmetadata import GenericMetadata, PageMetadata, md_test

from comicmaintainer.archive.comicinfo import (
    SCHEMA_ORDER,
    apply_tags,
    build_comicinfo,
    parse_comicinfo,
    tags_from_metadata,
)
from comicmaintainer.archive.errors import ArchiveError, InvalidTagValue
from comicmaintainer.domain.plan import Tags

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<ComicInfo><Series>&lol2;</Series></ComicInfo>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY ext SYSTEM "file:///etc/passwd">]>
<ComicInfo><Series>&ext;</Series></ComicInfo>"""


def _fields(md: GenericMetadata) -> dict[str, object]:
    keep = ("series", "issue", "issue_count", "title", "volume", "genres", "description", "notes",
            "alternate_series", "alternate_number", "alternate_count", "story_arcs", "series_groups",
            "publisher", "imprint", "day", "month", "year", "language", "web_links", "format", "manga",
            "black_and_white", "maturity_rating", "critical_rating", "scan_info", "page_count",
            "characters", "teams", "locations", "credits", "pages")  # fmt: skip
    return {name: getattr(md, name) for name in keep}


def test_parse_reads_fields() -> None:
    md = parse_comicinfo(
        b"<?xml version='1.0'?><ComicInfo><Series>Re:Zero</Series><Number>5</Number>"
        b"<Volume>2</Volume><Year>2014</Year><Publisher>Yen</Publisher></ComicInfo>"
    )
    assert (md.series, md.issue, md.volume, md.year, md.publisher) == ("Re:Zero", "5", 2, 2014, "Yen")


@pytest.mark.parametrize(
    ("xml", "reason"),
    [
        (LAUGHS, "DTDs and entities are refused"),
        (EXTERNAL, "DTDs and entities are refused"),
        (b"this is not xml", "not valid XML"),
        (b"", "not valid XML"),
        (b"<ComicInfo><Series>unclosed</ComicInfo>", "not valid XML"),
        (b"<Book><Series>x</Series></Book>", "root element is <Book>"),
    ],
)
def test_parse_refuses_bad_xml_with_one_line(xml: bytes, reason: str) -> None:
    with pytest.raises(ArchiveError) as caught:
        parse_comicinfo(xml)
    message = str(caught.value)
    assert reason in message
    assert message.startswith("ComicInfo.xml")
    assert "\n" not in message


def test_build_from_scratch_validates_and_round_trips(comicinfo_schema) -> None:
    xml = build_comicinfo(md_test, None)
    comicinfo_schema.validate(xml.decode("utf-8"))
    assert _fields(parse_comicinfo(xml)) == _fields(parse_comicinfo(build_comicinfo(md_test, None)))
    back = parse_comicinfo(xml)
    for name, value in _fields(md_test).items():
        if name != "pages":  # comicapi does not store page file names in ComicInfo.xml
            assert _fields(back)[name] == value, name
    assert [p.byte_size for p in back.pages] == [p.byte_size for p in md_test.pages]


def test_rebuilding_unchanged_metadata_gives_identical_bytes() -> None:
    first = build_comicinfo(md_test, None)
    assert build_comicinfo(parse_comicinfo(first), first) == first


def test_set_fields_keep_the_order_of_the_old_file() -> None:
    old = b"<ComicInfo><Genre>Zombies,Action,Drama</Genre><Characters>Zed,Amy</Characters></ComicInfo>"
    new = build_comicinfo(parse_comicinfo(old), old)
    root = ET.fromstring(new)
    assert root.findtext("Genre") == "Zombies,Action,Drama"
    assert root.findtext("Characters") == "Zed,Amy"


def test_unmodelled_schema_elements_are_kept_in_schema_order(comicinfo_schema) -> None:
    old = (
        b"<ComicInfo><Review>Great</Review><MainCharacterOrTeam>Subaru</MainCharacterOrTeam>"
        b"<Series>Old</Series><GTIN>978-0-0000</GTIN><Series>Duplicate</Series></ComicInfo>"
    )
    md = parse_comicinfo(old)
    md.title = "A new title"
    md.year = 2020
    xml = build_comicinfo(md, old)
    comicinfo_schema.validate(xml.decode("utf-8"))
    tags = [child.tag for child in ET.fromstring(xml)]
    assert tags == ["Title", "Series", "Year", "MainCharacterOrTeam", "Review"]
    assert tags == sorted(tags, key=SCHEMA_ORDER.index)
    assert ET.fromstring(xml).findtext("Series") == "Old"


def test_values_comicapi_would_emit_wrongly_are_fixed(comicinfo_schema) -> None:
    md = GenericMetadata(series="S", manga="yesandrighttoleft", maturity_rating="teen", critical_rating=4.256)
    md.pages = [
        PageMetadata(filename="", type="frontcover", bookmark="", display_index=0, archive_index=0,
                     double_page=True),
        PageMetadata(filename="", type="Nonsense", bookmark="", display_index=1, archive_index=1,
                     double_page=False),
    ]  # fmt: skip
    md.series = "Bad \x01 char"
    xml = build_comicinfo(md, None)
    comicinfo_schema.validate(xml.decode("utf-8"))
    root = ET.fromstring(xml)
    assert root.findtext("Manga") == "YesAndRightToLeft"
    assert root.findtext("AgeRating") == "Teen"
    assert root.findtext("CommunityRating") == "4.3"
    assert root.findtext("Series") == "Bad  char"
    pages = root.findall("Pages/Page")
    assert [p.get("DoublePage") for p in pages] == ["true", "false"]
    assert [p.get("Type") for p in pages] == ["FrontCover", None]


def test_values_outside_the_schema_are_dropped(comicinfo_schema) -> None:
    md = GenericMetadata(series="S", maturity_rating="Only on Tuesdays", critical_rating=9.5, manga="maybe")
    xml = build_comicinfo(md, None)
    comicinfo_schema.validate(xml.decode("utf-8"))
    root = ET.fromstring(xml)
    assert root.find("AgeRating") is None and root.find("CommunityRating") is None
    assert root.find("Manga") is None and root.find("Pages") is None


def test_build_refuses_a_hostile_old_file() -> None:
    with pytest.raises(ArchiveError, match="DTDs and entities"):
        build_comicinfo(GenericMetadata(series="x"), LAUGHS)


def test_tags_from_metadata() -> None:
    md = GenericMetadata(series="Re:Zero", issue="5", title="T", volume=3, year=2015, publisher="")
    assert tags_from_metadata(md) == Tags("Re:Zero", "5", "T", "3", "2015", None)
    assert tags_from_metadata(GenericMetadata()) == Tags()


def test_apply_tags_sets_given_fields_on_a_copy() -> None:
    md = GenericMetadata(series="Old", issue="1", notes="keep me", volume=1)
    new = apply_tags(md, Tags(series="New", issue=None, title="", volume="2", year="2019"))
    assert (new.series, new.issue, new.title, new.volume, new.year, new.notes) == (
        "New", "1", None, 2, 2019, "keep me",
    )  # fmt: skip
    assert md.series == "Old" and md.volume == 1


def test_apply_tags_refuses_non_numeric_year() -> None:
    with pytest.raises(InvalidTagValue, match="year must be a whole number"):
        apply_tags(GenericMetadata(), Tags(year="circa 1990"))


def test_applied_tags_survive_a_build(comicinfo_schema) -> None:
    old = b"<ComicInfo><Series>Old</Series><Review>Keep</Review></ComicInfo>"
    md = apply_tags(parse_comicinfo(old), Tags(series="Re:Zero", issue="5", volume="1", year="2014"))
    xml = build_comicinfo(md, old)
    comicinfo_schema.validate(xml.decode("utf-8"))
    assert tags_from_metadata(parse_comicinfo(xml)) == Tags("Re:Zero", "5", None, "1", "2014", None)
    assert ET.fromstring(xml).findtext("Review") == "Keep"
