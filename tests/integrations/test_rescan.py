"""Debounced rescans against fake Komga and Kavita servers on loopback: exact request counts."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from comicmaintainer.integration_settings import check_servers
from comicmaintainer.integrations.mapping import library_folders, targets, to_local
from comicmaintainer.integrations.readers import Library
from comicmaintainer.integrations.rescan import Rescanner, check_connection
from tests.integrations.fakes import FakeKavita, FakeKomga

ROOT = "/library"


@pytest.fixture
def komga() -> Iterator[FakeKomga]:
    fake = FakeKomga(
        libraries=[
            {"id": "K1", "name": "Manga", "root": "/data/comics/Manga"},
            {"id": "K2", "name": "Comics", "root": "/data/comics/Comics"},
            {"id": "K3", "name": "Elsewhere", "root": "/other"},
        ]
    )
    yield fake
    fake.close()


@pytest.fixture
def kavita() -> Iterator[FakeKavita]:
    fake = FakeKavita(libraries=[{"id": 7, "name": "All", "folders": ["/kavita/books"]}])
    yield fake
    fake.close()


@pytest.fixture
def rescanner() -> Iterator[Rescanner]:
    scanner = Rescanner(ROOT, retry_base=0.05, retry_cap=0.2)
    yield scanner
    scanner.stop()


def komga_server(fake: FakeKomga, **extra: object) -> dict[str, object]:
    raw = {
        "name": "komga",
        "kind": "komga",
        "url": fake.url,
        "api_key": "good-key",
        "remote_root": "/data/comics",
    }
    return check_servers([{**raw, **extra}])[0]


def kavita_server(fake: FakeKavita, **extra: object) -> dict[str, object]:
    raw = {
        "name": "kavita",
        "kind": "kavita",
        "url": fake.url,
        "api_key": "good-key",
        "remote_root": "/kavita/books",
    }
    return check_servers([{**raw, **extra}])[0]


def test_a_burst_of_1000_changes_is_one_scan_per_library(
    komga: FakeKomga, kavita: FakeKavita, rescanner: Rescanner
) -> None:
    rescanner.configure([komga_server(komga), kavita_server(kavita)], debounce=0.3)
    for n in range(1000):
        folder = "Manga/One Piece" if n % 2 else "Comics/Saga"
        rescanner.note([f"{folder}/chapter {n}.cbz"])
    assert rescanner.wait_idle(20)
    komga_scans = sorted(s.path for s in komga.scans())
    assert komga_scans == ["/api/v1/libraries/K1/scan", "/api/v1/libraries/K2/scan"]
    # Two series folders changed in Kavita's one library: one scan of that library.
    assert [(s.path, s.query["libraryId"]) for s in kavita.scans()] == [("/api/Library/scan", ["7"])]
    assert len(komga.matching("/api/v1/libraries")) == 3  # one listing (find by path), two scans


def test_one_series_folder_goes_to_kavitas_scan_folder(kavita: FakeKavita, rescanner: Rescanner) -> None:
    rescanner.configure([kavita_server(kavita)], debounce=0.05)
    rescanner.note([f"Manga/Berserk/Berserk {n}.cbz" for n in range(50)])
    assert rescanner.wait_idle(20)
    (scan,) = kavita.scans()
    assert scan.path == "/api/Library/scan-folder"
    assert scan.body == {"apiKey": "good-key", "folderPath": "/kavita/books/Manga/Berserk"}


def test_changes_that_keep_coming_are_one_scan_after_they_settle(
    komga: FakeKomga, rescanner: Rescanner
) -> None:
    rescanner.configure([komga_server(komga, libraries=[{"id": "K1", "folder": ""}])], debounce=0.5)
    for n in range(20):
        rescanner.note([f"Manga/A/{n}.cbz"])
        assert rescanner.states()[0]["scans_sent"] == 0  # every note restarts the quiet period
    assert rescanner.wait_idle(20)
    assert [s.path for s in komga.scans()] == ["/api/v1/libraries/K1/scan"]
    assert komga.matching("/api/v1/libraries") == komga.scans()  # a hand-made mapping lists nothing


def test_a_server_that_is_down_gets_one_scan_when_it_is_back(
    komga: FakeKomga, rescanner: Rescanner, caplog: pytest.LogCaptureFixture
) -> None:
    komga.down()
    rescanner.configure([komga_server(komga, libraries=[{"id": "K1", "folder": "Manga"}])], debounce=0.05)
    rescanner.note([f"Manga/A/{n}.cbz" for n in range(10)])
    state = _wait_state(rescanner, "down")
    assert "cannot connect" in state["message"]
    rescanner.note([f"Manga/B/{n}.cbz" for n in range(10)])  # merged into the one waiting batch
    _wait_state(rescanner, "down", pending_files=20)
    komga.up()
    assert rescanner.wait_idle(20)
    assert [s.path for s in komga.scans()] == ["/api/v1/libraries/K1/scan"]
    assert rescanner.states()[0]["state"] == "ok"
    assert any("trying again" in r.getMessage() for r in caplog.records)


def test_a_refused_key_is_shown_and_never_logged(
    kavita: FakeKavita, rescanner: Rescanner, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rescanner.configure([kavita_server(kavita, api_key="wrong-secret-key")], debounce=0.05)
    rescanner.note(["Manga/A/1.cbz"])
    state = _wait_state(rescanner, "refused")
    assert "refused the key" in state["message"]
    assert kavita.scans() == []
    assert "wrong-secret-key" not in caplog.text
    result = check_connection(kavita_server(kavita, api_key="wrong-secret-key"), ROOT)
    assert result["ok"] is False and result["refused"] is True and "wrong-secret-key" not in str(result)


def test_check_connection_lists_and_maps_libraries(komga: FakeKomga) -> None:
    result = check_connection(komga_server(komga), ROOT)
    assert result["ok"] is True
    assert [(lib["id"], lib["folder"]) for lib in result["libraries"]] == [
        ("K1", "Manga"),
        ("K2", "Comics"),
        ("K3", None),
    ]
    komga.user = ("reader", "pass-word")
    by_user = check_connection(komga_server(komga, api_key="", username="reader", password="pass-word"), ROOT)
    assert by_user["ok"] is True


def test_path_mapping() -> None:
    server = {"remote_root": "/data", "libraries": []}
    assert to_local("/data", server, ROOT) == ""
    assert to_local("/data/Manga/", server, ROOT) == "Manga"
    assert to_local("/database", server, ROOT) is None
    assert to_local("/library/Manga", {"remote_root": ""}, ROOT) == "Manga"  # same path on both sides
    listed = [Library("a", "All", ("/data",)), Library("m", "Manga", ("/data/Manga",))]
    folders = library_folders(server, listed, ROOT)
    by_library, unmapped = targets(["Manga/X/1.cbz", "Comics/Y/1.cbz", "loose.cbz"], folders)
    assert by_library == {"m": {"Manga/X/1.cbz"}, "a": {"Comics/Y/1.cbz", "loose.cbz"}}
    assert unmapped == set()
    _, unmapped = targets(["Other/1.cbz"], [("m", "Manga")])
    assert unmapped == {"Other/1.cbz"}


def _wait_state(rescanner: Rescanner, wanted: str, **fields: object) -> dict[str, object]:
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        state = rescanner.states()[0]
        if state["state"] == wanted and all(state[k] == v for k, v in fields.items()):
            return state
        time.sleep(0.01)  # polling for a state change; the assertions follow on what it holds
    raise AssertionError(f"server never became {wanted} {fields}: {rescanner.states()}")


def test_a_fixed_key_sends_what_the_refused_one_kept(kavita: FakeKavita, rescanner: Rescanner) -> None:
    rescanner.configure([kavita_server(kavita, api_key="old-wrong-key")], debounce=0.05)
    rescanner.note(["Manga/A/1.cbz", "Comics/B/1.cbz"])
    _wait_state(rescanner, "refused", pending_files=2)
    rescanner.configure([kavita_server(kavita)], debounce=0.05)  # the person fixes the key
    assert rescanner.wait_idle(20)
    assert [(s.path, s.query.get("libraryId")) for s in kavita.scans()] == [("/api/Library/scan", ["7"])]
