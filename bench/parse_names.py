"""Parse accuracy: our name rules beside comicapi's two filename parsers, on the same names.

Table 1 is ours (tests/domain/name_table.py): per row the kind of book, issue, range end, volume,
part and chapter title a reader would say the name holds. A cell counts when the parser gives
exactly that value (None when the name does not say). comicapi has no kinds, so its answer is read
the way comicapi means it: an issue equal to the volume is a whole volume (that is how comicapi
reports ``Berserk v01``), ``1-8`` is a range, another issue a chapter, no issue and no volume
nothing; it knows no parts, so its part is always None. comicapi sees the file name alone (it
takes no folder); ours also gets the folder, as the program does.

Table 2 holds names written after the rules were changed to read table 1 and never used to change
them, so it shows how the rules do on names they were not fitted to.

Table 3 is ComicTagger's own filename table (``testing/filenames.py`` of a comictagger checkout,
given with ``--comictagger``; it is read, not copied). There the issue is scored by ComicTagger's
convention: a name with a volume and no issue has the volume as its issue.

    python bench/parse_names.py
    python bench/parse_names.py --comictagger /tmp/comictagger/testing/filenames.py
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from comicapi.utils import Parser, parse_filename

from comicmaintainer.domain.issues import clean_issue
from comicmaintainer.domain.naming import NamingRules
from comicmaintainer.domain.plan import describe_name

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.domain.name_table import HELD_OUT, ROWS, Row  # noqa: E402

COLUMNS = ("kind", "issue", "issue_end", "volume", "part", "title")
Answer = dict[str, str | None]


def ours(name: str, folder: str | None) -> Answer:
    found = describe_name(name, folder, NamingRules())
    return {**{key: found[key] for key in COLUMNS[:-1]}, "title": found["chapter_title"]}


def comicapi_reader(parser: Parser) -> Callable[[str, str | None], Answer]:
    def read(name: str, folder: str | None) -> Answer:
        info = parse_filename(name, parser)
        issue, volume = info["issue"] or "", clean_issue(info["volume"] or "")
        kind, end = ("chapter" if issue else None), None
        ranged = re.fullmatch(r"\s*(\S+?)\s*-\s*(\S+)\s*", issue)
        if ranged:
            kind, issue, end = "range", ranged[1], clean_issue(ranged[2])
        if issue and volume and clean_issue(issue) == volume:
            kind, issue = "volume", ""
        if not issue and volume and kind is None:
            kind = "volume"
        return {
            "kind": kind,
            "issue": clean_issue(issue),
            "issue_end": end,
            "volume": volume,
            "part": None,
            "title": (info["title"] or "").strip() or None,
        }

    return read


def score(read: Callable[[str, str | None], Answer], rows: list[Row]) -> dict[str, int]:
    counts = dict.fromkeys((*COLUMNS, "all"), 0)
    for row in rows:
        answer = read(row.name, row.folder)
        right = [answer[key] == getattr(row, key) for key in COLUMNS]
        for key, ok in zip(COLUMNS, right, strict=True):
            counts[key] += ok
        counts["all"] += all(right)
    return counts


def _print_table(title: str, columns: tuple[str, ...], results: dict[str, dict[str, int]], n: int) -> None:
    print(f"\n{title} ({n} names)\n")
    print("| parser | " + " | ".join(columns) + " |")
    print("| --- | " + " | ".join("---:" for _ in columns) + " |")
    for parser, counts in results.items():
        cells = [f"{counts[c]} ({100 * counts[c] / n:.1f}%)" for c in columns]
        print(f"| {parser} | " + " | ".join(cells) + " |")


def our_table(title: str, rows: list[Row]) -> None:
    results = {
        "ours": score(ours, rows),
        "comicapi COMPLICATED": score(comicapi_reader(Parser.COMPLICATED), rows),
        "comicapi ORIGINAL": score(comicapi_reader(Parser.ORIGINAL), rows),
    }
    _print_table(title, (*COLUMNS, "all"), results, len(rows))
    for row in rows:
        answer = ours(row.name, row.folder)
        wrong = [key for key in COLUMNS if answer[key] != getattr(row, key)]
        if wrong:
            print(f"- ours misreads {row.name!r}: " + ", ".join(f"{k} {answer[k]!r}" for k in wrong))


def _load_comictagger_names(path: Path) -> list[tuple[str, str, dict[str, Any], Any]]:
    """``names`` from ComicTagger's testing/filenames.py, imported as the package it lives in."""
    package = path.parent
    sys.path.insert(0, str(package.parent))
    spec = importlib.util.spec_from_file_location(f"{package.name}.filenames", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    module.__package__ = package.name
    spec.loader.exec_module(module)
    return list(module.names)


def _ct_issue_of_ours(name: str) -> str:
    found = describe_name(name, None, NamingRules())
    if found["kind"] == "volume":
        return found["volume"] or ""  # ComicTagger's convention: a volume alone is the issue
    return found["issue"] or ""


def comictagger_table(path: Path) -> None:
    names = _load_comictagger_names(path)
    readers: dict[str, Callable[[str], str]] = {
        "ours": _ct_issue_of_ours,
        "comicapi COMPLICATED": lambda n: parse_filename(n, Parser.COMPLICATED)["issue"] or "",
        "comicapi ORIGINAL": lambda n: parse_filename(n, Parser.ORIGINAL)["issue"] or "",
    }
    results = {}
    for parser, read in readers.items():
        right = sum(read(name) == expected["issue"] for name, _, expected, _ in names)
        results[parser] = {"issue": right}
    _print_table("ComicTagger's table: issue numbers right", ("issue",), results, len(names))
    for name, _, expected, _ in names:
        got = _ct_issue_of_ours(name)
        if got != expected["issue"]:
            print(f"- ours misreads {name!r}: {got!r}, expected {expected['issue']!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comictagger", type=Path, help="ComicTagger's testing/filenames.py")
    args = parser.parse_args()
    our_table("Our table: rows right per column", ROWS)
    our_table("Held-out names (never used to change the rules): rows right per column", HELD_OUT)
    if args.comictagger:
        comictagger_table(args.comictagger)


if __name__ == "__main__":
    main()
