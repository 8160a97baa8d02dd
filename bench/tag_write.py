"""Time one ComicInfo.xml write: our writer against ComicTagger's and against ``cp``.

    python bench/tag_write.py [--sizes 1,20,100,500] [--runs 5] [--infos first,last,absent]

For each size (MB) and each place of ComicInfo.xml (first entry, last entry, absent), identical
copies of one generated archive (stored JPEG pages of about 2 MB, as most CBZ are) are written:

* ours, first write: ``cbz_write.write_comicinfo(path, xml, journal_dir=...)``, the pipeline's
  call: the in-place rewrite under an undo journal, or when it declines (an unusual layout)
  the full atomic copy;
* ours, tagged before: a second write with different tags to that same file;
* ComicTagger: ``ComicArchive(path).write_tags(md, "cr")`` on a fresh copy, then again;
* ``cp`` of the archive: the I/O floor of any full rewrite.

Our timings include building the XML (``comicinfo.build_comicinfo``) and the fsync of the undo
record; the archive's own fsync runs on a thread of its own once the call returns
(``archive/unflushed.py``), and the "on disk" column times the call together with it: the write
as durable as a full copy's. ComicTagger and ``cp`` do not fsync at all. Fairness: before each
timed step, ``sync`` (no writeback of an earlier copy running in the background), a one-second
pause (the disk at rest, as for a file that sits in a library) and the file to write is read
once (warm page cache for all).
Prints the median of ``--runs`` runs as a Markdown table, with ratios and the issue's targets.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from comicapi.comicarchive import ComicArchive
from comicapi.genericmetadata import GenericMetadata
from PIL import Image

from comicmaintainer.archive import cbz_write, unflushed
from comicmaintainer.archive.comicinfo import build_comicinfo

MB = 1 << 20
PAGE_SIZE = 2 * MB
INFOS = ("first", "last", "absent")
OLD_XML = build_comicinfo(GenericMetadata(series="Old Series", issue="1"), None)


def jpeg_page(index: int, size: int) -> bytes:
    """A real (small) JPEG followed by incompressible bytes up to ``size``: readers see an image."""
    rng = random.Random(index)
    buf = io.BytesIO()
    Image.frombytes("RGB", (64, 96), rng.randbytes(64 * 96 * 3)).save(buf, "JPEG")
    return buf.getvalue() + rng.randbytes(max(0, size - buf.tell()))


def build(path: Path, size_mb: int, info: str) -> None:
    total = size_mb * MB
    count = max(4, round(total / PAGE_SIZE))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        if info == "first":
            zf.writestr("ComicInfo.xml", OLD_XML)
        for i in range(count):
            zf.writestr(f"page{i:04d}.jpg", jpeg_page(i, total // count))
        if info == "last":
            zf.writestr("ComicInfo.xml", OLD_XML)


def metadata(run: int, second: bool) -> GenericMetadata:
    issue = str(run * 2 + (2 if second else 1))
    return GenericMetadata(series="Bench Series", issue=issue, title=f"Chapter {issue}", year=2024)


def ours(path: Path, md: GenericMetadata, journal_dir: Path) -> None:
    cbz_write.write_comicinfo(path, build_comicinfo(md, OLD_XML), journal_dir=journal_dir)


def comictagger(path: Path, md: GenericMetadata) -> None:
    if not ComicArchive(path).write_tags(md, "cr"):
        raise RuntimeError("ComicTagger reported a failed write")


SETTLE_SECONDS = 1.0


def settle(path: Path) -> None:
    """Same start for every timed step: the disk at rest (as for a file sitting in a library)
    and the file in the page cache."""
    os.sync()
    time.sleep(SETTLE_SECONDS)  # the virtual disk keeps flushing for a while after sync returns
    with open(path, "rb") as f:
        while f.read(8 * MB):
            pass


def timed(path: Path, action: Callable[[], object]) -> float:
    return timed_to_disk(path, action)[0]


def timed_to_disk(path: Path, action: Callable[[], object]) -> tuple[float, float]:
    """Milliseconds until ``action`` returned, and until its flush (if it left one) ended."""
    settle(path)
    start = time.perf_counter()
    action()
    returned = time.perf_counter()
    unflushed.wait_all()
    return (returned - start) * 1000, (time.perf_counter() - start) * 1000


def one_run(template: Path, work: Path, run: int) -> dict[str, float]:
    jdir = work / "journal"
    copy = work / "ours.cbz"
    shutil.copyfile(template, copy)
    result = {"ours_first": timed(copy, lambda: ours(copy, metadata(run, False), jdir))}
    result["ours_again"], result["ours_again_on_disk"] = timed_to_disk(
        copy, lambda: ours(copy, metadata(run, True), jdir)
    )
    with zipfile.ZipFile(copy) as zf:  # outside the clock: the write really happened
        assert f"<Number>{run * 2 + 2}</Number>" in zf.read("ComicInfo.xml").decode()
        assert zf.testzip() is None
    copy.unlink()
    ct = work / "comictagger.cbz"
    shutil.copyfile(template, ct)
    result["ct_first"] = timed(ct, lambda: comictagger(ct, metadata(run, False)))
    result["ct_again"] = timed(ct, lambda: comictagger(ct, metadata(run, True)))
    ct.unlink()
    dst = work / "cp.cbz"
    result["cp"] = timed(template, lambda: subprocess.run(["cp", str(template), str(dst)], check=True))
    dst.unlink()
    return result


def measure(size_mb: int, info: str, runs: int, work: Path) -> dict[str, float]:
    template = work / f"template-{size_mb}MB-{info}.cbz"
    build(template, size_mb, info)
    samples = [one_run(template, work, run) for run in range(runs)]
    template.unlink()
    return {key: statistics.median(s[key] for s in samples) for key in samples[0]}


def table(rows: list[tuple[int, str, dict[str, float]]]) -> list[str]:
    lines = [
        "| size | ComicInfo.xml | ours, first write | ours, tagged before | (on disk) | ComicTagger, first | "
        "ComicTagger, again | cp | ComicTagger ÷ ours (first) | ComicTagger ÷ ours (tagged before) |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for size, info, m in rows:
        lines.append(
            f"| {size} MB | {info} | {m['ours_first']:.1f} ms | {m['ours_again']:.1f} ms | "
            f"{m['ours_again_on_disk']:.1f} ms | "
            f"{m['ct_first']:.1f} ms | {m['ct_again']:.1f} ms | {m['cp']:.1f} ms | "
            f"{m['ct_first'] / m['ours_first']:.1f}× | {m['ct_again'] / m['ours_again']:.1f}× |"
        )
    return lines


def targets(rows: list[tuple[int, str, dict[str, float]]]) -> list[str]:
    """The issue's targets, checked on this run's numbers (tagged-before writes)."""
    again = {(s, i): m["ours_again"] for s, i, m in rows}
    speedup = {(s, i): m["ct_again"] / m["ours_again"] for s, i, m in rows}
    on_disk = {(s, i): m["ct_again"] / m["ours_again_on_disk"] for s, i, m in rows}
    lines = []
    for info in INFOS:
        if (500, info) in again and (1, info) in again:
            ratio = again[(500, info)] / again[(1, info)]
            lines.append(f"- tagged before, ComicInfo {info}: 500 MB ÷ 1 MB = {ratio:.2f} (target < 2)")
    for size, goal in ((100, 30), (500, 100)):
        got = [speedup[k] for k in speedup if k[0] == size]
        if got:
            durable = min(on_disk[k] for k in on_disk if k[0] == size)
            lines.append(
                f"- {size} MB, tagged before: at least {min(got):.0f}× faster than ComicTagger "
                f"(target ≥ {goal}×); {durable:.0f}× counting our flush after the call"
            )
    slower = [
        f"{s} MB/{i}"
        for s, i, m in rows
        if m["ours_first"] > m["ct_first"] or m["ours_again"] > m["ct_again"]
    ]
    lines.append(f"- slower than ComicTagger in: {', '.join(slower) if slower else 'no case'}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,20,100,500", help="archive sizes in MB, comma-separated")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--infos", default=",".join(INFOS), help="first,last,absent")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    infos = [i for i in args.infos.split(",") if i in INFOS]
    with tempfile.TemporaryDirectory(prefix="tag-write-") as tmp:
        need = max(sizes) * MB * 5
        if shutil.disk_usage(tmp).free < need:
            print(f"not enough free disk in {tmp}: {need // MB} MB needed", file=sys.stderr)
            return 2
        rows = []
        for size in sizes:
            for info in infos:
                rows.append((size, info, measure(size, info, args.runs, Path(tmp))))
                print(f"  measured {size} MB, ComicInfo {info}", file=sys.stderr, flush=True)
    print(
        f"Median of {args.runs} runs; ours fsyncs (on disk: with the flush after the call),"
        " ComicTagger and cp do not.\n"
    )
    print("\n".join(table(rows)))
    print()
    print("\n".join(targets(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
