"""Naming rules: parse a file name, render a new one from a template. Pure: no I/O."""

from __future__ import annotations

import string
from dataclasses import dataclass

PLACEHOLDERS = ("series", "issue", "issue_no_pad", "title", "volume", "year", "publisher")
DEFAULT_TEMPLATE = "{series} - Chapter {issue}"


class TemplateError(ValueError):
    """A file name template that cannot be used; the message says why in one line."""


def validate_template(template: str) -> None:
    """Refuse templates with unknown placeholders, format specs or broken braces."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(f"filename format {template!r} is malformed: {exc}") from None
    names = [name for _, name, _, _ in parts if name is not None]
    unknown = sorted({n for n in names if n not in PLACEHOLDERS})
    if unknown:
        allowed = " ".join("{" + p + "}" for p in PLACEHOLDERS)
        raise TemplateError(f"unknown placeholder {{{unknown[0]}}} in filename format; use {allowed}")
    if not any(n in ("issue", "issue_no_pad") for n in names):
        raise TemplateError("filename format must contain {issue} or {issue_no_pad}")
    if any(spec or conv for _, name, spec, conv in parts if name is not None):
        raise TemplateError("filename format placeholders take no format spec or conversion")


@dataclass(frozen=True)
class NamingRules:
    template: str = DEFAULT_TEMPLATE
    padding: int = 4
