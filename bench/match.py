"""Match a generated library against the fake sources, and time one chapter's metadata write.

    python bench/match.py [--series 20] [--chapters 20] [--source anilist] [--workers 2]

1. A library of ``--series`` series folders × ``--chapters`` chapters (small real archives) and a
   fake of the source on loopback (tests/metadata/fakes.py: the API's documented shapes) that
   knows each series and a decoy of a similar name. The source is asked at its published rate.
2. One ``match`` job over everything: time, requests sent, and a check that every chapter holds
   its series' fields. Then a second job: time, requests (expected 0) and writes (expected 0).
3. Per-file write time: the metadata write of one chapter (``metadata.apply.write_match``: the
   in-place writer under its undo journal, history recorded) next to today's tag write
   (``cbz_write.write_comicinfo`` of the pipeline's tags), at two archive sizes: both stay flat
   as the archive grows, since only ComicInfo.xml and the zip's tail are rewritten.

Prints Markdown tables (docs/BENCHMARKS.md keeps the runs).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from comicapi.genericmetadata import GenericMetadata  # noqa: E402
from tests.archive_factory import make_cbz  # noqa: E402
from tests.metadata.fakes import Fake, Series, serving  # noqa: E402

from comicmaintainer.archive import cbz_write  # noqa: E402
from comicmaintainer.archive.comicinfo import build_comicinfo  # noqa: E402
from comicmaintainer.archive.reader import read_archive  # noqa: E402
from comicmaintainer.config import PUBLISHED_PER_MINUTE, Settings  # noqa: E402
from comicmaintainer.jobs.engine import JobEngine  # noqa: E402
from comicmaintainer.jobs.events import EventBus  # noqa: E402
from comicmaintainer.jobs.model import JobSpec  # noqa: E402
from comicmaintainer.library.edit import fields_of  # noqa: E402
from comicmaintainer.library.process import Context  # noqa: E402
from comicmaintainer.library.store import SeriesMatch, Store  # noqa: E402
from comicmaintainer.metadata.apply import write_match  # noqa: E402
from comicmaintainer.metadata.job import service_for  # noqa: E402

WORDS = ("Azure", "Crimson", "Golden", "Silent", "Iron", "Hidden", "Frozen", "Wild", "Lost", "Bright")
NOUNS = ("Blade", "Garden", "Tower", "River", "Crown")


def catalogue(count: int) -> list[Series]:
    out = []
    for n in range(count):
        title = f"{WORDS[n % len(WORDS)]} {NOUNS[n // len(WORDS) % len(NOUNS)]} {n + 1}"
        out.append(Series(n + 1, title, 2000 + n, 200, summary=f"The story of {title}.", writer=f"Writer {n}",
                          artist=f"Artist {n}"))  # fmt: skip
        out.append(Series(1000 + n, f"{title} Side Stories Collection", 2015, 5, writer="Someone Else"))
    return out


def build_library(root: Path, series: list[Series], chapters: int) -> None:
    for s in series:
        if s.id >= 1000:
            continue
        for c in range(1, chapters + 1):
            make_cbz(root / s.title / f"{s.title} - Chapter {c:04d}.cbz", pages=2, page_size=4000, seed=c)


def check(ctx: Context, series: list[Series]) -> int:
    """Chapters whose fields are not their series' (0 when the job did it all right)."""
    wrong = 0
    for s in series:
        if s.id >= 1000:
            continue
        for path in sorted((ctx.settings.watched_dir / s.title).iterdir()):
            got = fields_of(read_archive(path).comicinfo)
            expected = {
                "Series": s.title,
                "Writer": s.writer,
                "Penciller": s.artist,
                "Year": str(s.year),
                "Summary": s.summary,
                "Manga": "YesAndRightToLeft",
                "Count": str(s.count),
            }
            wrong += any(got[k] != v for k, v in expected.items())
    return wrong


def run_job(engine: JobEngine) -> tuple[float, dict]:
    started = time.perf_counter()
    job = engine.submit(JobSpec("match", "all", source="cli"))
    while engine.get(job["id"])["finished_at"] is None:
        time.sleep(0.01)
    return time.perf_counter() - started, engine.get(job["id"])


def library_runs(args: argparse.Namespace, tmp: Path) -> None:
    series = catalogue(args.series)
    watched = tmp / "library"
    build_library(watched, series, args.chapters)
    with serving(Fake(args.source, series)) as fake:
        settings = dataclasses.replace(
            Settings(watched_dir=watched, duplicate_dir=None, config_dir=tmp / "config"),
            metadata_manga_order=args.source, **{f"{args.source}_url": fake.url,
            f"{args.source}_per_minute": float(PUBLISHED_PER_MINUTE[args.source])},
        )  # fmt: skip
        store = Store(settings.db_path)
        from comicmaintainer.library.scanner import scan

        scan(watched, store)
        ctx = Context(settings=settings, store=store)
        engine = JobEngine(ctx, EventBus(), workers=args.workers)
        engine.start()
        try:
            first_time, first = run_job(engine)
            first_requests, actions = len(fake.requests), len(store.list_actions(100_000))
            wrong = check(ctx, series)
            second_time, second = run_job(engine)
            second_requests = len(fake.requests) - first_requests
            writes = len(store.list_actions(100_000)) - actions
        finally:
            engine.stop()
            store.close()
    total = args.series * args.chapters
    print(
        f"### {args.series} series × {args.chapters} chapters, {args.source} at"
        f" {PUBLISHED_PER_MINUTE[args.source]:g}/min, {args.workers} workers\n"
    )
    print("| run | time (s) | requests | chapters done | skipped | failed | chapters wrong | writes |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| first | {first_time:.1f} | {first_requests} | {first['succeeded']}/{total} | {first['skipped']}"
        f" | {first['failed']} | {wrong} | {actions} |"
    )
    print(
        f"| second | {second_time:.1f} | {second_requests} | {second['succeeded']} | {second['skipped']}"
        f" | {second['failed']} | – | {writes} |\n"
    )


def write_times(args: argparse.Namespace, tmp: Path) -> None:
    print(f"### One chapter's write (median of {args.runs} files, ms)\n")
    print("| archive | today's tag write | metadata write (fields + history) |")
    print("| ---: | ---: | ---: |")
    settings = Settings(watched_dir=tmp / "w", duplicate_dir=None, config_dir=tmp / "wc")
    (tmp / "w").mkdir()
    store = Store(settings.db_path)
    ctx = Context(settings=settings, store=store)
    service = service_for(ctx)
    record = catalogue(1)[0]
    from tests.metadata.fakes import anilist_media

    from comicmaintainer.metadata.anilist import to_record

    match = SeriesMatch(
        "S", "pinned", "anilist", "1", None, to_record(anilist_media(record)).to_json(), [], 0
    )
    plain = build_comicinfo(GenericMetadata(series="S", issue="1", title="Chapter 1"), None)
    xml = build_comicinfo(GenericMetadata(series="S", issue="1", title="Chapter 1", volume=1), plain)
    for megabytes in (2, 40):
        pairs = []
        for n in range(args.runs):
            a = make_cbz(tmp / "w" / "S" / f"a{megabytes}-{n}.cbz", pages=10, page_size=megabytes * 100_000,
                         comicinfo=plain, seed=n)  # fmt: skip
            b = tmp / "w" / "S" / f"b{megabytes}-{n}.cbz"
            shutil.copy(a, b)
            pairs.append((a, b))
        os.sync()  # no writeback of the copies running while we time
        tag, meta = [], []
        for a, b in pairs:
            t = time.perf_counter()
            cbz_write.write_comicinfo(a, xml, journal_dir=settings.journal_dir)
            tag.append(time.perf_counter() - t)
            t = time.perf_counter()
            write_match(f"S/{b.name}", match, ctx, service)
            meta.append(time.perf_counter() - t)
        print(
            f"| {megabytes} MB | {statistics.median(tag) * 1000:.1f} | {statistics.median(meta) * 1000:.1f} |"
        )
    service.close()
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=20)
    parser.add_argument("--chapters", type=int, default=20)
    parser.add_argument("--source", default="anilist", choices=("anilist", "mangadex", "mangaupdates"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-match-") as name:
        library_runs(args, Path(name))
        write_times(args, Path(name))


if __name__ == "__main__":
    main()
