"""comictagger against comicbox: file name parsing, ComicInfo round trip and import time.

    python bench/parse_libraries.py comictagger   # in a venv with comictagger==1.6.0b9 only
    python bench/parse_libraries.py comicbox      # in a venv with comicbox==5.4.0 only

Each library runs in its own scratch venv, outside the project (their pins clash), so nothing here
imports comicmaintainer. The names are PARSE_CASES of tests/domain/test_naming.py (read with ast,
not imported), without the cases that need the folder: series and issue are scored against what
our rules expect, issues compared without leading zeros, series ignoring case and whether words
are parted by `_`, `:` or a space.
The round trip reads a ComicInfo.xml with 22 fields from one CBZ and writes what the library made
of it into a CBZ without one; a field counts when its text comes back unchanged.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from pathlib import Path

NAMING_TESTS = Path(__file__).resolve().parents[1] / "tests" / "domain" / "test_naming.py"
FIELDS = {
    "Title": "Chapter 7", "Series": "Dorohedoro", "Number": "7", "Count": "23", "Volume": "2",
    "Summary": "Caiman looks for the sorcerer.", "Notes": "scanned", "Year": "2002", "Month": "5",
    "Writer": "Q Hayashida", "Publisher": "Shogakukan", "Genre": "Fantasy", "Web": "https://example.org/d7",
    "PageCount": "2", "LanguageISO": "ja", "Format": "Tankobon", "BlackAndWhite": "Yes",
    "Manga": "YesAndRightToLeft", "Characters": "Caiman, Nikaido", "StoryArc": "Hole",
    "AgeRating": "Mature 17+", "CommunityRating": "4.5",
}  # fmt: skip
# A 1x1 grey PNG, so that the libraries' page readers see a real image.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108000000003a7e9b55"
    "0000000a49444154789c636800000082008177cd72b60000000049454e44ae426082"
)
IMPORTS = {"comictagger": "import comicapi.comicarchive, comicapi.utils", "comicbox": "import comicbox.box"}


def parse_cases() -> list[tuple[str, str | None, str | None]]:
    tree = ast.parse(NAMING_TESTS.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "PARSE_CASES":
            cases = ast.literal_eval(node.value)
            return [(name, series, issue) for name, folder, series, issue, *_ in cases if folder is None]
    raise SystemExit(f"no PARSE_CASES in {NAMING_TESTS}")


def same_series(got: str | None, want: str | None) -> bool:
    def norm(s: str | None) -> str:
        return " ".join((s or "").replace("_", " ").replace(":", " ").casefold().split())

    return norm(got) == norm(want)


def same_issue(got: str | None, want: str | None) -> bool:
    def norm(s: str | None) -> str:
        head, dot, tail = (s or "").strip().lstrip("#").partition(".")
        return (head.lstrip("0") or ("0" if head else "")) + dot + tail

    return norm(got) == norm(want)


def comictagger_parse(name: str, _tmp: Path) -> tuple[str | None, str | None]:
    from comicapi.utils import Parser, parse_filename

    info = parse_filename(name, parser=Parser.ORIGINAL)
    return info.get("series") or None, info.get("issue") or None


def comicbox_parse(name: str, tmp: Path) -> tuple[str | None, str | None]:
    from comicbox.box import Comicbox

    path = tmp / name
    make_cbz(path, None)
    with Comicbox(path) as cb:
        md = cb.to_dict().get("comicbox", {})
    issue = md.get("issue") or {}
    return (md.get("series") or {}).get("name"), issue.get("name") if isinstance(issue, dict) else issue


def make_cbz(path: Path, comicinfo: bytes | None) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for n in (1, 2):
            zf.writestr(f"page{n}.png", PNG)
        if comicinfo is not None:
            zf.writestr("ComicInfo.xml", comicinfo)


def sample_xml() -> bytes:
    root = ET.Element("ComicInfo")
    for tag, text in FIELDS.items():
        ET.SubElement(root, tag).text = text
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def comicinfo_of(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if n.lower() == "comicinfo.xml"]
        if not names:
            return {}
        root = ET.fromstring(zf.read(names[0]))
    return {child.tag: (child.text or "") for child in root}


def comictagger_round_trip(src: Path, dst: Path) -> None:
    from comicapi.comicarchive import ComicArchive

    md = ComicArchive(src).read_tags("cr")
    ComicArchive(dst).write_tags(md, "cr")


def comicbox_round_trip(src: Path, dst: Path) -> None:
    from comicbox.box import Comicbox
    from comicbox.write import write_metadata

    with Comicbox(src) as cb:
        md = cb.to_dict()
    write_metadata(dst, md, formats=["COMIC_INFO"], merge_mode="replace")


def import_seconds(lib: str) -> float:
    code = f"import time; t = time.perf_counter(); {IMPORTS[lib]}; print(time.perf_counter() - t)"
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 check=True).stdout) for _ in range(3)]  # fmt: skip
    return min(runs)


def score_names(parse: Callable[[str, Path], tuple[str | None, str | None]], tmp: Path) -> dict[str, object]:
    cases = parse_cases()
    misses, series_ok, issue_ok, started = [], 0, 0, time.perf_counter()
    for name, series, issue in cases:
        got_series, got_issue = parse(name, tmp)
        series_ok += same_series(got_series, series)
        issue_ok += same_issue(got_issue, issue)
        if not (same_series(got_series, series) and same_issue(got_issue, issue)):
            misses.append(f"{name}: {got_series!r} #{got_issue!r} (want {series!r} #{issue!r})")
    per_name_ms = 1000 * (time.perf_counter() - started) / len(cases)
    return {"names": len(cases), "series_right": series_ok, "issue_right": issue_ok,
            "parse_ms_per_name": round(per_name_ms, 2), "misses": misses}  # fmt: skip


def score_round_trip(round_trip: Callable[[Path, Path], None], tmp: Path) -> dict[str, object]:
    src, dst = tmp / "src.cbz", tmp / "dst.cbz"
    make_cbz(src, sample_xml())
    make_cbz(dst, None)
    round_trip(src, dst)
    back = comicinfo_of(dst)
    changed = {tag: back.get(tag) for tag, text in FIELDS.items() if back.get(tag) != text}
    return {"round_trip_kept": f"{len(FIELDS) - len(changed)}/{len(FIELDS)}", "round_trip_changed": changed}


def main() -> None:
    lib = sys.argv[1] if len(sys.argv) > 1 else ""
    if lib not in IMPORTS:
        raise SystemExit("usage: parse_libraries.py comictagger|comicbox")
    parse = comictagger_parse if lib == "comictagger" else comicbox_parse
    round_trip = comictagger_round_trip if lib == "comictagger" else comicbox_round_trip
    result: dict[str, object] = {"library": lib, "import_s": round(import_seconds(lib), 3)}
    with tempfile.TemporaryDirectory() as scratch:
        result |= score_round_trip(round_trip, Path(scratch))
        result |= score_names(parse, Path(scratch))
    print(json.dumps(result, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
