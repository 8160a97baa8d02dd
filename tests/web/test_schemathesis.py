"""Property-based checks of the whole API from its own /openapi.json: no 500s, answers match schemas.

schemathesis runs from its own virtual environment (`.venv-schemathesis`, made by `make install`):
its dependencies cannot share one with comictagger's pins (pyrate-limiter), and as a separate
process it tests the API exactly as any client sees it, against a real uvicorn on loopback over a
real example library. Bounded (few examples per operation) so it stays well under a minute.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.web.test_api_files import service  # noqa: F401 - fixture

SCHEMATHESIS = Path(__file__).resolve().parents[2] / ".venv-schemathesis" / "bin" / "schemathesis"
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"


def test_api_matches_its_schema(service, live_server) -> None:  # noqa: F811
    if not SCHEMATHESIS.exists():
        pytest.fail(f"{SCHEMATHESIS} missing: run `make install`, which creates it", pytrace=False)
    url = live_server(service.app)
    run = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{url}/openapi.json",
            "--checks",
            CHECKS,
            "--max-examples",
            "8",
            "--phases",
            "examples,coverage,fuzzing",
            "--seed",
            "1",
            "--request-timeout",
            "30",
            # The stream never ends; deleting files or rescanning only empties the library under test.
            "--exclude-path",
            "/api/events/stream",
            "--exclude-method",
            "DELETE",
            "--exclude-path",
            "/api/scan",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
