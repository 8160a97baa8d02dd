"""ComicInfo.xml: parse it safely, build it with comicapi, and keep it valid for ComicInfo 2.0.

Reading goes through defusedxml first: an archive is untrusted input, and a ComicInfo.xml with a
DTD or entities (the "billion laughs" family) is refused before any other XML code sees it.

Writing uses comicapi's ComicRack tag code, which updates the old XML in place (so elements it
does not model, such as ``MainCharacterOrTeam`` or ``Review``, survive) and then
:func:`_conform` fixes what comicapi would otherwise emit against the ComicInfo 2.0 schema:
element order, duplicate elements, enumeration values, booleans and number formats. Elements the
2.0 schema does not define at all (for example the draft 2.1 ``GTIN`` or ``Translator``) cannot be
kept without making the file invalid; they are dropped, which is why the list is in
``SCHEMA_ORDER`` for everyone to see.
"""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import defusedxml.ElementTree as SafeET
from comicapi import utils
from comicapi.genericmetadata import GenericMetadata, PageType
from comicapi.tags.comicrack import ComicRack
from defusedxml import DefusedXmlException

from comicmaintainer.archive.errors import CorruptArchive, InvalidTagValue
from comicmaintainer.domain.plan import Tags

# The children of <ComicInfo> in the order the ComicInfo 2.0 schema's <xs:sequence> demands.
SCHEMA_ORDER: tuple[str, ...] = (
    "Title", "Series", "Number", "Count", "Volume", "AlternateSeries", "AlternateNumber",
    "AlternateCount", "Summary", "Notes", "Year", "Month", "Day", "Writer", "Penciller", "Inker",
    "Colorist", "Letterer", "CoverArtist", "Editor", "Publisher", "Imprint", "Genre", "Web",
    "PageCount", "LanguageISO", "Format", "BlackAndWhite", "Manga", "Characters", "Teams",
    "Locations", "ScanInformation", "StoryArc", "SeriesGroup", "AgeRating", "Pages",
    "CommunityRating", "MainCharacterOrTeam", "Review",
)  # fmt: skip
_INT_ELEMENTS = frozenset({"Count", "Volume", "AlternateCount", "Year", "Month", "Day", "PageCount"})
_YES_NO = ("Unknown", "No", "Yes")
_MANGA = ("Unknown", "No", "Yes", "YesAndRightToLeft")
_AGE_RATINGS = (
    "Unknown", "Adults Only 18+", "Early Childhood", "Everyone", "Everyone 10+", "G", "Kids to Adults",
    "M", "MA15+", "Mature 17+", "PG", "R18+", "Rating Pending", "Teen", "X18+",
)  # fmt: skip
_PAGE_TYPES = {t.value.casefold(): t.value for t in PageType}
_PAGE_INT_ATTRS = ("Image", "ImageSize", "ImageWidth", "ImageHeight")
_PAGE_ATTRS = frozenset({*_PAGE_INT_ATTRS, "Type", "DoublePage", "Key", "Bookmark"})
# Fields comicapi keeps as sets: written in a stable order so that rewriting unchanged tags
# yields the same bytes (set order changes from one process to the next).
_SET_FIELDS = {"genres": "Genre", "characters": "Characters", "teams": "Teams", "locations": "Locations"}
# Characters XML 1.0 cannot hold at all; a tag value containing one would make the file unreadable.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_INT32 = (-(2**31), 2**31 - 1)

_TAGGER = ComicRack("")


def _safe_root(xml: bytes) -> ET.Element:
    try:
        root = SafeET.fromstring(xml, forbid_dtd=True)
    except DefusedXmlException:
        raise CorruptArchive("ComicInfo.xml is not valid XML: DTDs and entities are refused") from None
    except ET.ParseError as exc:
        raise CorruptArchive(f"ComicInfo.xml is not valid XML: {exc}") from None
    if root.tag != "ComicInfo":
        raise CorruptArchive(f"ComicInfo.xml is not valid XML: root element is <{root.tag}>, not <ComicInfo>")
    return root


def parse_comicinfo(xml: bytes) -> GenericMetadata:
    """Parse ComicInfo.xml bytes into comicapi's metadata; ArchiveError (one line) when unusable."""
    root = _safe_root(xml)
    try:
        # The same conversion comicapi's _metadata_from_bytes does, fed the tree defusedxml built.
        return _TAGGER._convert_xml_to_metadata(root)
    except Exception as exc:  # comicapi raises bare Exception/ValueError on odd values
        raise CorruptArchive(f"ComicInfo.xml could not be read: {exc}") from None


def build_comicinfo(md: GenericMetadata, old_xml: bytes | None) -> bytes:
    """ComicInfo.xml for ``md``, keeping what comicapi does not model from ``old_xml``.

    The result validates against the ComicInfo 2.0 schema and reads back to the same fields.
    """
    old_root = _safe_root(old_xml) if old_xml else None
    ordered = _with_stable_sets(md, old_root)
    try:
        # The old XML passed defusedxml above (no DTD, no entities), so comicapi's plain
        # ElementTree parse of it inside _convert_metadata_to_xml is safe.
        root = _TAGGER._convert_metadata_to_xml(ordered, old_xml or b"")
    except Exception as exc:
        raise CorruptArchive(f"ComicInfo.xml could not be built: {exc}") from None
    _conform(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _with_stable_sets(md: GenericMetadata, old_root: ET.Element | None) -> GenericMetadata:
    """Copy of ``md`` whose set fields are lists: the old file's order if same members, else sorted."""
    changes: dict[str, list[str]] = {}
    for field, element in _SET_FIELDS.items():
        values = getattr(md, field)
        old_text = old_root.findtext(element) if old_root is not None else None
        old_items = utils.split(old_text, ",") if old_text else []
        if set(old_items) == set(values) and len(old_items) == len(set(old_items)):
            changes[field] = old_items
        else:
            changes[field] = sorted(values, key=lambda v: (v.casefold(), v))
    # comicapi joins lists and sets alike; the list only fixes the order. A shallow copy: building
    # the XML only reads ``md``, and comicapi's own ``replace`` deep-copies (half of this call's cost).
    return dataclasses.replace(md, **changes)


# --- making comicapi's output valid for the ComicInfo 2.0 schema ----------------------------


def _conform(root: ET.Element) -> None:
    """Fix, in place, everything the ComicInfo 2.0 schema would reject."""
    # Unknown root attributes are not allowed; namespace declarations are the customary ones.
    root.attrib.clear()
    root.set("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
    root.set("xmlns:xsd", "http://www.w3.org/2001/XMLSchema")
    _keep_known_children(root)
    for child in list(root):
        fixer = _FIXERS.get(child.tag)
        if fixer is not None and not fixer(child):
            root.remove(child)
    for element in root.iter():
        if element.text:
            element.text = _XML_ILLEGAL.sub("", element.text)
        for key, value in element.attrib.items():
            element.set(key, _XML_ILLEGAL.sub("", value))
    ET.indent(root)


def _keep_known_children(root: ET.Element) -> None:
    """Schema elements only, each once, in schema order (comicapi appends new ones at the end)."""
    rank = {name: i for i, name in enumerate(SCHEMA_ORDER)}
    seen: set[str] = set()
    kept: list[ET.Element] = []
    for child in list(root):
        if child.tag in rank and child.tag not in seen:
            seen.add(child.tag)
            kept.append(child)
        root.remove(child)
    kept.sort(key=lambda el: rank[el.tag])
    root.extend(kept)


def _fix_int(element: ET.Element) -> bool:
    return _as_int32(element.text) is not None


def _as_int32(text: str | None) -> int | None:
    try:
        value = int((text or "").strip())
    except ValueError:
        return None
    return value if _INT32[0] <= value <= _INT32[1] else None


def _enum_fixer(allowed: Iterable[str]) -> Callable[[ET.Element], bool]:
    """Map a value onto the schema's spelling case-insensitively; drop it if it is not allowed."""
    by_fold = {value.casefold(): value for value in allowed}

    def fix(element: ET.Element) -> bool:
        value = by_fold.get((element.text or "").strip().casefold())
        element.text = value
        return value is not None

    return fix


def _fix_rating(element: ET.Element) -> bool:
    """CommunityRating is a decimal from 0 to 5 with one fraction digit.

    The 2.0 schema allows two fraction digits, the 2.1 draft one; one is valid under both."""
    try:
        value = Decimal((element.text or "").strip()).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return False
    if not value.is_finite() or not Decimal(0) <= value <= Decimal(5):
        return False
    element.text = format(value.normalize(), "f")
    return True


def _fix_pages(pages: ET.Element) -> bool:
    for page in list(pages):
        if page.tag != "Page" or _as_int32(page.get("Image")) is None:
            pages.remove(page)
            continue
        _fix_page_attrs(page)
    # comicapi always adds <Pages>; an empty one says nothing, so leave it out.
    return len(pages) > 0


def _fix_page_attrs(page: ET.Element) -> None:
    for key in [k for k in page.attrib if k not in _PAGE_ATTRS]:
        del page.attrib[key]
    for key in _PAGE_INT_ATTRS[1:]:
        if key in page.attrib and _as_int32(page.get(key)) is None:
            del page.attrib[key]
    if "DoublePage" in page.attrib:
        # comicapi writes str(bool), "True"/"False"; xs:boolean only accepts lower case (or 1/0).
        double = page.get("DoublePage", "").casefold() in ("true", "1", "yes")
        page.set("DoublePage", "true" if double else "false")
    if "Type" in page.attrib:
        tokens = [_PAGE_TYPES.get(t.casefold()) for t in (page.get("Type") or "").split()]
        if tokens and all(tokens):
            page.set("Type", " ".join(t for t in tokens if t))
        else:
            del page.attrib["Type"]


_FIXERS: dict[str, Callable[[ET.Element], bool]] = {
    **{name: _fix_int for name in _INT_ELEMENTS},
    "BlackAndWhite": _enum_fixer(_YES_NO),
    "Manga": _enum_fixer(_MANGA),
    "AgeRating": _enum_fixer(_AGE_RATINGS),
    "CommunityRating": _fix_rating,
    "Pages": _fix_pages,
}


# --- the handful of fields the program reads and sets ---------------------------------------


def tags_from_metadata(md: GenericMetadata) -> Tags:
    """The fields we normalize, as strings (``None`` when absent)."""
    return Tags(
        series=md.series or None,
        issue=md.issue or None,
        title=md.title or None,
        volume=None if md.volume is None else str(md.volume),
        year=None if md.year is None else str(md.year),
        publisher=md.publisher or None,
        format=md.format or None,
    )


def apply_tags(md: GenericMetadata, tags: Tags) -> GenericMetadata:
    """A copy of ``md`` with every non-None field of ``tags`` set; ``""`` clears a field.

    Volume and year must be whole numbers (the schema stores them as integers).
    """
    changes: dict[str, object] = {}
    for field in ("series", "issue", "title", "publisher", "format"):
        value = getattr(tags, field)
        if value is not None:
            changes[field] = value.strip() or None
    for field in ("volume", "year"):
        value = getattr(tags, field)
        if value is not None:
            changes[field] = _whole_number(field, value)
    result = md.copy()
    for field, value in changes.items():
        setattr(result, field, value)
    return result


def _whole_number(field: str, text: str) -> int | None:
    if not text.strip():
        return None
    value = _as_int32(text)
    if value is None:
        raise InvalidTagValue(f"{field} must be a whole number, got {text.strip()[:40]!r}")
    return value
