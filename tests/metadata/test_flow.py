"""The ``match`` job end to end: real archives, a real store, real workers, the fake sources."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from comicmaintainer.config import Settings
from comicmaintainer.jobs.engine import JobEngine
from comicmaintainer.jobs.events import EventBus
from comicmaintainer.jobs.model import JobSpec
from comicmaintainer.library.edit import edit_tags, read_tags
from comicmaintainer.library.process import Context
from comicmaintainer.library.store import Store
from comicmaintainer.library.undo import undo
from comicmaintainer.metadata.apply import match_item
from comicmaintainer.metadata.job import service_for
from tests.archive_factory import make_cbz
from tests.jobs.test_engine import wait_done
from tests.metadata.conftest import pointed
from tests.metadata.fakes import Fake


def chapters(watched: Path, series: str, count: int = 3) -> list[str]:
    for n in range(1, count + 1):
        make_cbz(watched / series / f"{series} - Chapter {n:04d}.cbz", seed=n)
    return [f"{series}/{series} - Chapter {n:04d}.cbz" for n in range(1, count + 1)]


@pytest.fixture
def mctx(settings: Settings, fakes: dict[str, Fake]) -> Iterator[Context]:
    store = Store(settings.db_path)
    try:
        yield Context(settings=pointed(settings, fakes), store=store)
    finally:
        store.close()


@pytest.fixture
def engine(mctx: Context) -> Iterator[JobEngine]:
    eng = JobEngine(mctx, EventBus(), workers=3)
    eng.start()
    yield eng
    eng.stop()


def run(engine: JobEngine, paths: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    job = engine.submit(JobSpec("match", "selected", tuple(paths), source="cli"))
    return wait_done(engine, job["id"]), engine.items(job["id"])


def tags(ctx: Context, rel: str) -> dict[str, str | None]:
    return read_tags(rel, ctx)["tags"]


def sent(fakes: dict[str, Fake]) -> int:
    return sum(len(f.requests) for f in fakes.values())


def test_a_confident_match_fills_every_chapter_and_a_second_run_does_nothing(
    engine: JobEngine, mctx: Context, watched: Path, fakes: dict[str, Fake]
) -> None:
    paths = chapters(watched, "Berserk")
    job, items = run(engine, paths)
    assert job["status"] == "completed" and job["succeeded"] == 3, items
    assert len(fakes["anilist"].requests) == 1  # one search for the series, not one per chapter
    for n, rel in enumerate(paths, start=1):
        got = tags(mctx, rel)
        assert (got["Series"], got["Number"], got["Title"]) == ("Berserk", str(n), f"Chapter {n}")
        assert got["Summary"] == "A lone swordsman." and got["Genre"] == "Action,Fantasy"
        assert got["Writer"] == got["Penciller"] == "Kentaro Miura"
        assert (got["Year"], got["Count"], got["LanguageISO"]) == ("1989", "374", "ja")
        assert (got["Manga"], got["Web"]) == ("YesAndRightToLeft", "https://anilist.co/manga/1")
    actions = len(mctx.store.list_actions(1000))
    requests = sent(fakes)
    job, items = run(engine, paths)
    assert job["skipped"] == 3 and sent(fakes) == requests
    assert len(mctx.store.list_actions(1000)) == actions  # nothing written


def test_two_series_of_one_name_need_a_match_and_are_left_alone(
    engine: JobEngine, mctx: Context, watched: Path
) -> None:
    paths = chapters(watched, "Monster", 2)
    job, items = run(engine, paths)
    assert job["skipped"] == 2
    assert items[0]["result"]["message"].startswith("Monster needs a match")
    assert tags(mctx, paths[0])["Writer"] is None
    stored = service_for(mctx).data.get_match("Monster")
    assert stored is not None and stored.status == "needs_match"
    assert {c["year"] for c in stored.candidates} == {1994, 2012}


def test_a_pin_is_written_kept_across_restarts_and_can_be_cleared(
    engine: JobEngine, mctx: Context, watched: Path, fakes: dict[str, Fake], settings: Settings
) -> None:
    paths = chapters(watched, "Monster", 2)
    service = service_for(mctx)
    service.pin("Monster", "anilist", "https://anilist.co/manga/3/Monster")
    job, _ = run(engine, paths)
    assert job["succeeded"] == 2 and tags(mctx, paths[1])["Writer"] == "Naoki Urasawa"
    with Store(settings.db_path) as reopened:  # another process, or the next start
        from comicmaintainer.library.store import MetadataStore

        pinned = MetadataStore(reopened).get_match("Monster")
    assert pinned is not None and (pinned.status, pinned.source_id) == ("pinned", "3")
    searches = len(fakes["anilist"].requests)
    assert service.series_match("Monster").status == "pinned" and len(fakes["anilist"].requests) == searches
    assert service.clear("Monster") and service.data.get_match("Monster") is None


def test_a_persons_edit_survives_a_later_match_even_with_overwrite(
    mctx: Context, watched: Path, fakes: dict[str, Fake]
) -> None:
    ctx = dataclasses.replace(mctx, settings=dataclasses.replace(mctx.settings, metadata_overwrite=True))
    paths = chapters(watched, "Berserk", 2)
    edit_tags(paths[0], {"Genre": "Horror", "Summary": "Set by a person"}, ctx)
    service = service_for(ctx)
    for rel in paths:
        assert match_item(rel, ctx, service)["outcome"] == "processed"
    first, second = tags(ctx, paths[0]), tags(ctx, paths[1])
    assert (first["Genre"], first["Summary"]) == ("Horror", "Set by a person")
    assert first["Writer"] == "Kentaro Miura"  # the fields the person left alone were filled
    assert second["Genre"] == "Action,Fantasy"


def test_a_source_down_fails_its_items_with_one_line_and_the_rest_goes_on(
    engine: JobEngine, mctx: Context, watched: Path, fakes: dict[str, Fake]
) -> None:
    fakes["anilist"].fault = "down"
    manga = chapters(watched, "Berserk", 2)
    comics = chapters(watched, "Saga", 2)
    service_for(mctx).set_kind("Saga", "comics")
    job, items = run(engine, manga + comics)
    by_path = {item["path"]: item for item in items}
    assert job["failed"] == 2 and job["succeeded"] == 2
    assert {by_path[p]["error"] for p in manga} == {"anilist: server error (HTTP 503)"}
    assert tags(mctx, comics[0])["Publisher"] == "Image"
    assert len(fakes["anilist"].requests) == 4  # one search, retried: the second chapter did not ask again


def test_a_refused_key_fails_the_items_and_never_shows_the_key(
    engine: JobEngine, mctx: Context, watched: Path
) -> None:
    mctx.settings = dataclasses.replace(
        mctx.settings, metadata_comics_order="comicvine", comicvine_api_key="bad-key-789"
    )
    paths = chapters(watched, "Saga", 2)
    service_for(mctx).set_kind("Saga", "comics")
    job, items = run(engine, paths)
    assert job["failed"] == 2
    assert items[0]["error"] == "comicvine: the key or login was refused (HTTP 401)"
    assert "bad-key-789" not in repr(items)


def test_a_dry_run_writes_nothing_and_undo_puts_a_chapter_back(mctx: Context, watched: Path) -> None:
    (rel,) = chapters(watched, "Berserk", 1)
    service = service_for(mctx)
    preview = match_item(rel, mctx, service, dry_run=True)
    assert preview["dry_run"] and preview["tags_after"]["Writer"] == "Kentaro Miura"
    assert tags(mctx, rel)["Writer"] is None
    done = match_item(rel, mctx, service)
    assert tags(mctx, rel)["Writer"] == "Kentaro Miura"
    undo(done["action_id"], mctx)
    after_undo = tags(mctx, rel)
    assert after_undo["Writer"] is None and after_undo["Series"] == "Berserk"


def test_a_library_of_twenty_series_in_one_job_then_nothing(
    engine: JobEngine, mctx: Context, watched: Path, fakes: dict[str, Fake]
) -> None:
    from tests.metadata.fakes import Series

    series = [Series(100 + n, f"Generated Series {n:02d}", 2000 + n, 50, writer=f"W{n}") for n in range(20)]
    fakes["mangadex"].series[:] = series
    mctx.settings = dataclasses.replace(mctx.settings, metadata_manga_order="mangadex")
    paths = [rel for s in series for rel in chapters(watched, s.title, 2)]
    job, _ = run(engine, paths)
    assert job["succeeded"] == 40 and len(fakes["mangadex"].requests) == 20
    for s in series:
        for n in (1, 2):
            got = tags(mctx, f"{s.title}/{s.title} - Chapter {n:04d}.cbz")
            assert (got["Writer"], got["Year"], got["Series"]) == (s.writer, str(s.year), s.title)
    actions = len(mctx.store.list_actions(10_000))
    job, _ = run(engine, paths)
    assert job["skipped"] == 40 and len(fakes["mangadex"].requests) == 20
    assert len(mctx.store.list_actions(10_000)) == actions


def test_a_cleared_series_is_searched_again_from_the_stored_answers(
    mctx: Context, watched: Path, fakes: dict[str, Fake]
) -> None:
    chapters(watched, "Berserk", 1)
    first = service_for(mctx)
    assert first.series_match("Berserk").status == "matched"
    asked = sent(fakes)
    first.clear("Berserk")
    from comicmaintainer.metadata.service import MetadataService

    restarted = MetadataService(mctx.settings, mctx.store)  # a new process: nothing in memory
    assert restarted.series_match("Berserk").source_id == "1"
    assert sent(fakes) == asked and restarted.requests == 0  # the answer came from the store's cache
