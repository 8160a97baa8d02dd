"""`process_now`: process one file through the API and wait for its job, as the page does."""

from __future__ import annotations

import time
from typing import Any

import httpx

FINAL = ("completed", "failed", "cancelled")


def process_now(client: httpx.Client, path: str, mode: str = "full", timeout: float = 30) -> dict[str, Any]:
    """``POST /api/files/process`` answers a job at once; this waits for it and gives the item's Result."""
    answer = client.post("/api/files/process", json={"path": path, "mode": mode})
    assert answer.status_code == 202, answer.text
    job = answer.json()
    deadline = time.monotonic() + timeout
    while job["status"] not in FINAL:
        assert time.monotonic() < deadline, f"job {job['id']} did not finish in {timeout} s"
        time.sleep(0.02)
        job = client.get(f"/api/jobs/{job['id']}").json()
    (item,) = client.get(f"/api/jobs/{job['id']}/items").json()["items"]
    result: dict[str, Any] = item["result"] or {"path": path, "outcome": "failed", "message": item["error"]}
    return result
