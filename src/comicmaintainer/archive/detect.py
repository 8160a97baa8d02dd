"""Tell zip from rar by the first bytes of a file, never by its extension.

A ``.cbr`` that is really a zip is common (and the reverse happens too), so the
extension is only a hint for the user; the magic bytes decide.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

Format = Literal["zip", "rar", "unknown"]

# Local file header, empty archive (end of central directory) and the rare
# "spanned" marker that some writers put first.
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
# RAR 1.5 to 4.x start with "Rar!\x1a\x07\x00", RAR 5 with "Rar!\x1a\x07\x01\x00".
_RAR_MAGIC = b"Rar!\x1a\x07"


def sniff(head: bytes) -> Format:
    """Classify the first bytes of a file."""
    if head.startswith(_ZIP_MAGICS):
        return "zip"
    if head.startswith(_RAR_MAGIC):
        return "rar"
    return "unknown"


def detect_format(path: Path) -> Format:
    """Return ``"zip"``, ``"rar"`` or ``"unknown"`` (also for an empty or unreadable-length file)."""
    with open(path, "rb") as handle:
        return sniff(handle.read(8))
