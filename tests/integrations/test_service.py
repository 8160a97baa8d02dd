"""The whole service: a 500-file library processed by one job tells each reader server library once
and sends one notification per enabled kind; secrets never show in answers or logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from comicmaintainer.config import Settings
from comicmaintainer.example_library import build, write_cbz
from comicmaintainer.integrations.secrets import MASK
from comicmaintainer.web.service import Service, build_service
from tests.integrations.fakes import FakeKavita, FakeKomga, FakeNotify
from tests.web.test_api_jobs import wait_finished

KOMGA_KEY = "komga-secret-key-0001"
KAVITA_KEY = "kavita-secret-key-0002"
NOTIFY_PASSWORD = "notify-secret-pass-0003"


@pytest.fixture
def fakes() -> Iterator[tuple[FakeKomga, FakeKavita, FakeNotify]]:
    komga = FakeKomga(
        api_key=KOMGA_KEY,
        libraries=[
            {"id": "K1", "name": "Comics", "root": "/data/comics"},
            {"id": "K2", "name": "Books", "root": "/data/books"},
        ],
    )
    kavita = FakeKavita(api_key=KAVITA_KEY, libraries=[])
    notify = FakeNotify()
    yield komga, kavita, notify
    for fake in (komga, kavita, notify):
        fake.close()


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    library = tmp_path / "library"
    build(library, series=10, per_series=49, pages=1)  # 490 chapters and 4 hard cases
    for name in ("Artbook", "Cover Gallery", "Wallpapers", "Sketches", "Postcards", "Posters"):
        write_cbz(library / "Berserk" / f"{name}.cbz", seed=hash(name) % 10_000, pages=1)
    assert sum(1 for p in library.rglob("*") if p.is_file()) == 500
    settings = Settings(watched_dir=library, duplicate_dir=None, config_dir=tmp_path / "config")
    svc = build_service(settings, workers=2)
    svc.start()
    yield svc
    svc.stop()


def test_one_job_one_scan_per_library_one_message_per_kind(
    service: Service,
    fakes: tuple[FakeKomga, FakeKavita, FakeNotify],
    live_server,
    caplog: pytest.LogCaptureFixture,
) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    komga, kavita, notify = fakes
    notify_url = f"json://user:{NOTIFY_PASSWORD}@127.0.0.1:{notify.port}/hook"
    kavita_libraries = [{"id": "3", "folder": "Berserk"}, {"id": "4", "folder": ""}]
    komga_server = {"name": "komga", "kind": "komga", "url": komga.url, "api_key": KOMGA_KEY}
    kavita_server = {"name": "kavita", "kind": "kavita", "url": kavita.url, "api_key": KAVITA_KEY}
    servers = [
        {**komga_server, "remote_root": "/data/comics"},
        {**kavita_server, "remote_root": "/kavita", "libraries": kavita_libraries},
    ]
    with httpx.Client(base_url=live_server(service.app), timeout=60) as api:
        answer = api.put(
            "/api/integrations",
            json={"reader_servers": servers, "reader_debounce": 1.5, "notify_urls": [notify_url]},
        )
        assert answer.status_code == 200, answer.text
        shown = answer.text
        # The page may send the masked answer back: the secrets stay as they were.
        assert (
            api.put(
                "/api/integrations",
                json={
                    "reader_servers": answer.json()["reader_servers"],
                    "notify_urls": answer.json()["notify_urls"],
                },
            ).status_code
            == 200
        )
        assert service.settings.reader_servers[0]["api_key"] == KOMGA_KEY
        assert service.settings.notify_urls == (notify_url,)
        job = api.post("/api/jobs", json={"kind": "process", "scope": "all"}).json()
        finished = wait_finished_long(api, job["id"])
        messages = [m["title"] for m in _wait_messages(notify, 4)]
        komga.wait_for(1, path_part="/scan")
        kavita.wait_for(2, path_part="/scan")
        assert service.integrations is not None and service.integrations.wait_idle(30)
        states = api.get("/api/integrations").json()["server_states"]
        shown += api.get("/api/integrations").text
        tested = api.post("/api/integrations/servers/test", json={"name": "kavita"}).json()
        shown += str(tested)
    _print_request_log(finished, komga, kavita, notify)
    assert finished["total"] == 500
    assert [s.path for s in komga.scans()] == ["/api/v1/libraries/K1/scan"]
    kavita_scans = sorted((s.path, str(s.query.get("libraryId")), str(s.body)) for s in kavita.scans())
    assert kavita_scans == [
        ("/api/Library/scan", "['4']", "None"),
        ("/api/Library/scan-folder", "None", str({"apiKey": KAVITA_KEY, "folderPath": "/kavita/Berserk"})),
    ]
    assert sorted(messages) == sorted(
        [
            f"Job {job['id']} (process) failed",
            f"{finished['failed'] - 6} file(s) failed in job {job['id']}",
            f"1 duplicate(s) set aside in job {job['id']}",
            f"6 file(s) need attention in job {job['id']}",
        ]
    )
    assert len(notify.seen) == 4
    assert [s["scans_sent"] for s in states] == [1, 2] and {s["state"] for s in states} == {"ok"}
    assert tested["ok"] is True
    for secret in (KOMGA_KEY, KAVITA_KEY, NOTIFY_PASSWORD):
        assert secret not in shown
        assert secret not in caplog.text
    assert MASK in shown


def wait_finished_long(api: httpx.Client, job_id: int) -> dict:
    for _ in range(20):
        try:
            return wait_finished(api, job_id)
        except AssertionError:
            continue  # 500 files on a shared machine take longer than one wait
    raise AssertionError(f"job {job_id} did not finish")


def _wait_messages(notify: FakeNotify, count: int) -> list[dict]:
    notify.wait_for(count, timeout=60)
    return notify.messages()


def _print_request_log(job: dict, *fakes: object) -> None:
    counts = f"{job['succeeded']} done, {job['failed']} failed, {job['skipped']} skipped"
    print(f"\njob: {job['total']} files, {counts}")
    for fake, name in zip(fakes, ("komga", "kavita", "notify"), strict=True):
        for seen in fake.seen:  # type: ignore[attr-defined]
            line = (
                seen.line()
                if name != "notify"
                else f"{seen.method} {seen.path} title={seen.body.get('title')!r}"
            )
            print(f"  {name}: {line}")
