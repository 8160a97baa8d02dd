"""Kinds of book: which book a file holds, when two files hold the same one, and their titles.

A book is a chapter, a volume, a chapter range, a part of a chapter, or a special (extra, omake,
prologue, oneshot, side story …). Two files are the same book only when they are of one kind with
the same numbers (chapter, range end, part, special word and number) and no two different volumes;
only then may one be set aside as a duplicate of the other. Otherwise their names must keep what
tells them apart (``distinguishing_marks``). Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from comicmaintainer.domain.issues import clean_issue, pad_issue
from comicmaintainer.domain.naming import render_text
from comicmaintainer.domain.parse import ParsedName
from comicmaintainer.domain.templates import NamingRules, placeholders_of

_GENERIC_TITLE = re.compile(r"(?:chapters?|ch|volume|vol|issue|part)\.?\s*[\d.\-\s]*(?:part\s*\d+)?", re.I)
_TITLE_SLOT = "\x03"


@dataclass(frozen=True)
class Book:
    """What one file holds. ``special`` is the special's word and number (``Extra 1``)."""

    kind: str
    issue: str | None = None
    issue_end: str | None = None
    volume: str | None = None
    part: str | None = None
    special: str | None = None
    chapter_title: str | None = None


def same_book(a: Book, b: Book) -> bool:
    """Whether two files hold one book: then one of them is a duplicate of the other."""
    if a.kind != b.kind or (a.issue, a.issue_end, a.part) != (b.issue, b.issue_end, b.part):
        return False
    if (a.special or "").casefold() != (b.special or "").casefold():
        return False
    return not (a.volume and b.volume and a.volume != b.volume)


def _whole(text: str | None) -> str | None:
    cleaned = clean_issue(text or "")
    return cleaned if cleaned and cleaned.isdigit() else None


def book_from(
    parsed: ParsedName, tag_issue: str | None, tag_volume: str | None, tag_format: str | None
) -> Book | None:
    """The book, from its name and tags: the name tells the kind, the tags' issue and volume win
    for a plain chapter, a Format tag ``Special`` makes a special. None when nothing is known."""
    issue, volume = clean_issue(tag_issue or ""), _whole(tag_volume)
    kind, special = parsed.kind, parsed.special
    if (tag_format or "").strip().casefold() == "special" and kind != "special":
        kind, special = "special", "Special"
    if kind in (None, "chapter"):
        issue = issue or parsed.issue
        volume = volume or parsed.volume
        kind = "chapter" if issue else "volume" if volume else None
        if kind is None:
            return None
        issue = issue if kind == "chapter" else None
        return Book(kind, issue=issue, volume=volume, chapter_title=parsed.title)
    return Book(
        kind,
        issue=parsed.issue,
        issue_end=parsed.issue_end,
        volume=parsed.volume or volume,
        part=parsed.part,
        special=special,
        chapter_title=parsed.title,
    )


def special_text(book: Book, rules: NamingRules | None = None) -> str:
    """A special's words: anchored on its chapter or volume (``Volume 10 Extra``), padded as in a
    file name when ``rules`` is given."""
    word = book.special or "Special"
    if book.issue:
        anchor = f"Chapter {pad_issue(book.issue, rules.padding) if rules else book.issue}"
    elif book.volume:
        anchor = f"Volume {pad_issue(book.volume, rules.volume_padding) if rules else book.volume}"
    else:
        return word
    return f"{anchor} {word}"


def special_number(book: Book) -> str | None:
    """A special's Number: right after the chapter it belongs to (``10`` -> ``10.5``), or none."""
    if not book.issue:
        return None
    return book.issue if "." in book.issue else f"{book.issue}.5"


def _head(book: Book, rules: NamingRules, fields: dict[str, str | None]) -> str:
    if book.kind == "chapter":
        text = render_text(rules.title_template, fields | {"issue": book.issue})
        return text or f"Chapter {book.issue}"
    if book.kind == "part":
        return f"Chapter {book.issue} Part {book.part}"
    if book.kind == "range":
        return f"Chapters {book.issue}-{book.issue_end}"
    if book.kind == "volume":
        return f"Volume {book.volume}"
    return special_text(book)


def title_for(book: Book, rules: NamingRules, fields: dict[str, str | None]) -> str:
    """The Title tag: the title template for a chapter; for the other kinds what they are, with
    the chapter title after a dash when the title template asks for one."""
    values = fields | {"volume": book.volume, "chapter_title": book.chapter_title}
    head = _head(book, rules, values)
    asks = "chapter_title" in placeholders_of(rules.title_template, what="title format")
    if book.kind != "chapter" and asks and book.chapter_title:
        return f"{head} - {book.chapter_title}"
    return head


def chapter_title_from_tag(
    tag_title: str | None, book: Book, rules: NamingRules, fields: dict[str, str | None]
) -> str | None:
    """The chapter's own title inside a Title tag, taking off what ``title_for`` put around it."""
    text = (tag_title or "").strip()
    bare = replace(book, chapter_title=None)
    if not text or text == title_for(bare, rules, fields) or _GENERIC_TITLE.fullmatch(text):
        return None
    slotted = title_for(replace(book, chapter_title=_TITLE_SLOT), rules, fields)
    before, slot, after = slotted.partition(_TITLE_SLOT)
    if slot and text.startswith(before) and text.endswith(after) and len(text) > len(before) + len(after):
        return text[len(before) : len(text) - len(after)].strip() or None
    return text


def distinguishing_marks(book: Book, other: Book, template: str, rules: NamingRules) -> str | None:
    """What to add to a name so that ``book`` and ``other`` (a different book that would get the
    same name) get two names: `` (Volume 02)``, `` (Special)`` …; None when nothing tells them apart."""
    names = placeholders_of(template)
    marks = []
    if book.kind != other.kind:
        marks.append(book.kind.capitalize())
    if book.volume and book.volume != other.volume and "volume" not in names:
        marks.append(f"Volume {pad_issue(book.volume, rules.volume_padding)}")
    return f" ({', '.join(marks)})" if marks else None
