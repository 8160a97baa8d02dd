"""One file name template per kind of book, and the title template. Pure: no I/O.

==========  =========================================  ===============================
kind        default template                           must contain
==========  =========================================  ===============================
chapter     ``{series} - Chapter {issue}``             ``{issue}`` or ``{issue_no_pad}``
volume      ``{series} - Volume {volume}``             ``{volume}``
range       ``{series} - Chapter {issue}-{issue_end}``  an issue and ``{issue_end}``
part        ``{series} - Chapter {issue} Part {part}``  an issue and ``{part}``
special     ``{series} - {special}``                   ``{special}``
==========  =========================================  ===============================

What a template must contain is what tells two books of its kind apart, so that two different
books of one kind never get one name. ``{issue}`` and ``{issue_end}`` are padded to ``padding``
digits, ``{volume}`` to ``volume_padding``. The title template (default ``Chapter {issue}``, e.g.
``Chapter {issue} - {chapter_title}``) gives a chapter's Title tag, with unpadded numbers.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

PLACEHOLDERS = (
    "series", "issue", "issue_no_pad", "title", "volume", "year", "publisher",
    "issue_end", "part", "special", "chapter_title",
)  # fmt: skip
TITLE_PLACEHOLDERS = ("series", "issue", "volume", "year", "publisher", "chapter_title")
DEFAULT_TEMPLATE = "{series} - Chapter {issue}"
DEFAULT_VOLUME_TEMPLATE = "{series} - Volume {volume}"
DEFAULT_RANGE_TEMPLATE = "{series} - Chapter {issue}-{issue_end}"
DEFAULT_PART_TEMPLATE = "{series} - Chapter {issue} Part {part}"
DEFAULT_SPECIAL_TEMPLATE = "{series} - {special}"
DEFAULT_TITLE_TEMPLATE = "Chapter {issue}"

_ISSUE = ("issue", "issue_no_pad")
# For each kind: groups of placeholders; the template needs one of each group.
REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    "chapter": (_ISSUE,),
    "volume": (("volume",),),
    "range": (_ISSUE, ("issue_end",)),
    "part": (_ISSUE, ("part",)),
    "special": (("special",),),
}
# The setting that holds each kind's template (the chapter's is the original filename_format).
SETTING_OF_KIND = {
    "chapter": "filename_format",
    "volume": "volume_format",
    "range": "range_format",
    "part": "part_format",
    "special": "special_format",
}


class TemplateError(ValueError):
    """A file name template that cannot be used; the message says why in one line."""


@dataclass(frozen=True)
class NamingRules:
    template: str = DEFAULT_TEMPLATE
    padding: int = 4
    volume_template: str = DEFAULT_VOLUME_TEMPLATE
    range_template: str = DEFAULT_RANGE_TEMPLATE
    part_template: str = DEFAULT_PART_TEMPLATE
    special_template: str = DEFAULT_SPECIAL_TEMPLATE
    volume_padding: int = 2
    title_template: str = DEFAULT_TITLE_TEMPLATE
    # Komga sorts by Number; Kavita reads a book with a Volume and no Number as a whole volume.
    number_volumes: bool = False

    def template_for(self, kind: str) -> str:
        if kind == "chapter":
            return self.template
        return str(getattr(self, f"{kind}_template"))


def placeholders_of(template: str, *, what: str = "filename format") -> list[str]:
    """The placeholder names of ``template``; TemplateError when it is malformed or uses a spec."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(f"{what} {template!r} is malformed: {exc}") from None
    if any(spec or conv for _, name, spec, conv in parts if name is not None):
        raise TemplateError(f"{what} placeholders take no format spec or conversion")
    return [name for _, name, _, _ in parts if name is not None]


def validate_template(template: str, kind: str = "chapter") -> None:
    """Refuse templates with unknown placeholders, format specs, broken braces, or without what
    tells two books of ``kind`` apart."""
    what = "filename format" if kind == "chapter" else f"{kind} format"
    names = placeholders_of(template, what=what)
    unknown = sorted({n for n in names if n not in PLACEHOLDERS})
    if unknown:
        allowed = " ".join("{" + p + "}" for p in PLACEHOLDERS)
        raise TemplateError(f"unknown placeholder {{{unknown[0]}}} in {what}; use {allowed}")
    for group in REQUIRED[kind]:
        if not any(n in group for n in names):
            choices = " or ".join("{" + p + "}" for p in group)
            raise TemplateError(f"{what} must contain {choices}")


def validate_title_template(template: str) -> None:
    """The title template: known placeholders only, and some text once filled."""
    names = placeholders_of(template, what="title format")
    unknown = sorted({n for n in names if n not in TITLE_PLACEHOLDERS})
    if unknown:
        allowed = " ".join("{" + p + "}" for p in TITLE_PLACEHOLDERS)
        raise TemplateError(f"unknown placeholder {{{unknown[0]}}} in title format; use {allowed}")
    if not template.strip():
        raise TemplateError("title format must not be empty")
