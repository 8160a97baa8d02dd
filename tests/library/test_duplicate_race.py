"""Two versions of one chapter dropped at once: the running service, its watcher and two job workers.

Each pair lands in its own series folder, so the two files are next to each other in the watcher's
job and the two workers take them at the same moment. The one that loses the name must be set
aside exactly as it came, and history must say only what really happened.
"""

from __future__ import annotations

import os
from pathlib import Path

from comicmaintainer.archive.reader import read_archive
from comicmaintainer.config import load_settings, save_config
from comicmaintainer.library.store import Action
from comicmaintainer.web.service import build_service
from tests.archive_factory import make_cbz, page_hashes
from tests.waiting import wait_for

PAIRS = 8


def test_racing_versions_of_one_chapter_loser_is_set_aside_byte_identical(tmp_path: Path) -> None:
    watched, dups, staging = tmp_path / "library", tmp_path / "dups", tmp_path / "staging"
    watched.mkdir()
    dups.mkdir()
    env = {"WATCHED_DIR": str(watched), "CONFIG_DIR": str(tmp_path / "config"), "DUPLICATE_DIR": str(dups)}
    settings = save_config(load_settings(env), quiet_period=0.2)
    originals: dict[str, bytes] = {}
    for n in range(PAIRS):
        folder = f"Blue Harbor {n}"
        for name, seed in ((f"Blue Harbor {n} ch 60.cbz", 2 * n), (f"blue_harbor_{n}_c060.cbz", 2 * n + 1)):
            staged = make_cbz(staging / folder / name, seed=seed, pages=3)
            originals[f"{folder}/{name}"] = staged.read_bytes()
    service = build_service(settings, workers=2, watch=True)
    service.start()
    try:
        for folder in sorted({rel.split("/")[0] for rel in originals}):
            os.rename(staging / folder, watched / folder)  # both versions arrive in the same instant
        wait_for(lambda: _all_settled(service), 60, "the watcher's job to finish")
        actions = service.store.list_actions(1000)
    finally:
        service.stop()

    for n in range(PAIRS):
        folder = f"Blue Harbor {n}"
        target = watched / folder / f"{folder} - Chapter 0060.cbz"
        assert sorted(p.name for p in (watched / folder).iterdir()) == [target.name]
        set_aside = sorted((dups / folder).iterdir())
        assert len(set_aside) == 1, set_aside
        loser = f"{folder}/{set_aside[0].name}"
        winner = next(rel for rel in originals if rel.startswith(folder + "/") and rel != loser)
        # Exactly as it came: not one byte written to the loser.
        assert set_aside[0].read_bytes() == originals[loser], f"{loser} was changed before it was set aside"
        assert page_hashes(target) == _pages_of(originals[winner], tmp_path)
        _assert_history_is_true(actions, winner, loser, target, f"{folder}/{target.name}", set_aside[0])


def _all_settled(service) -> bool:  # type: ignore[no-untyped-def]
    jobs = service.engine.list()
    finished = [j for j in jobs if j["status"] in ("completed", "failed", "cancelled")]
    done = sum(j["processed"] for j in finished)
    return bool(jobs) and len(finished) == len(jobs) and done == 2 * PAIRS


def _pages_of(data: bytes, tmp_path: Path) -> list[str]:
    copy = tmp_path / "page-check.cbz"
    copy.write_bytes(data)
    return page_hashes(copy)


def _assert_history_is_true(
    actions: list[Action], winner: str, loser: str, target: Path, target_rel: str, aside: Path
) -> None:
    won = [a for a in actions if a.kind == "process" and a.old_path == winner]
    assert [(a.new_path, a.state) for a in won] == [(target_rel, "done")]
    assert read_archive(target).comicinfo == won[0].new_xml  # the tags it says it wrote are there
    for action in actions:
        if action.old_path != loser:
            continue
        # A process action of the loser may exist only as rolled back, and rolled back is true:
        # its bytes were checked above to be the original ones.
        if action.kind == "process":
            assert action.state == "rolled_back", action
        else:
            assert (action.kind, action.new_path, action.state) == ("duplicate", str(aside), "done")
    assert any(a.kind == "duplicate" and a.old_path == loser for a in actions)
