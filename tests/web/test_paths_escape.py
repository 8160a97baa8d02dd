"""Every route that takes a library path refuses one that leaves the library, with 400 and the error shape."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.web.test_api_files import api, service  # noqa: F401 - fixtures

Call = Callable[[httpx.Client, str], httpx.Response]

ROUTES: dict[str, Call] = {
    "GET tags": lambda c, p: c.get("/api/files/tags", params={"path": p}),
    "PUT tags": lambda c, p: c.put("/api/files/tags", json={"path": p, "tags": {"Series": "x"}}),
    "process": lambda c, p: c.post("/api/files/process", json={"path": p}),
    "delete": lambda c, p: c.delete("/api/files", params={"path": p}),
    "preview": lambda c, p: c.post("/api/preview", json={"paths": [p]}),
    "cover": lambda c, p: c.get("/api/files/cover", params={"path": p}),
    "job": lambda c, p: c.post("/api/jobs", json={"kind": "process", "scope": "selected", "paths": [p]}),
    "name preview": lambda c, p: c.post(
        "/api/settings/preview", json={"filename_format": "{series}", "path": p}
    ),
}

BAD_PATHS = {
    "dotdot": "../outside.cbz",
    "dotdot inside": "Berserk/../../outside.cbz",
    "absolute": "/etc/passwd",
    "nul": "Berserk/a\x00b.cbz",
    "symlink out": "escape/outside.cbz",
}


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("bad", BAD_PATHS)
def test_path_outside_the_library_is_refused(api: httpx.Client, service, route: str, bad: str) -> None:  # noqa: F811
    outside = service.settings.config_dir.parent / "outside"
    outside.mkdir(exist_ok=True)
    victim = outside / "outside.cbz"
    victim.write_bytes(b"not yours")
    link = service.settings.watched_dir / "escape"
    if not link.exists():
        link.symlink_to(outside, target_is_directory=True)
    answer = ROUTES[route](api, BAD_PATHS[bad])
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "bad_path" and error["message"] and "Traceback" not in error["message"]
    assert victim.read_bytes() == b"not yours"
    assert not list(Path(service.settings.thumbs_dir).rglob("*.*"))
