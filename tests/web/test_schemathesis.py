"""Property-based checks of the whole API from its own /openapi.json: no 500s, answers match schemas.

Runs against a real uvicorn on loopback over a real example library. Bounded (few examples per
operation, no shrinking) so the whole file stays well under a minute. Skipped when schemathesis
is not installed.
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from schemathesis.specs.openapi import checks as openapi_checks  # noqa: E402

from tests.web.test_api_files import service  # noqa: E402,F401 - fixture

# Operations whose side effects would only make the run slow or empty the library under test.
SKIPPED = ("DELETE /api/files", "POST /api/scan")


def test_api_matches_its_schema(service, live_server) -> None:  # noqa: F811
    url = live_server(service.app)
    schema = schemathesis.openapi.from_url(url + "/openapi.json")
    checks = (
        schemathesis.checks.not_a_server_error,
        openapi_checks.response_schema_conformance,
        openapi_checks.status_code_conformance,
        openapi_checks.content_type_conformance,
    )
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label in SKIPPED or operation.path == "/api/events/stream":
            continue

        @settings(max_examples=8, deadline=None, phases=[Phase.generate], database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call(base_url=url, timeout=30)
            case.validate_response(response, checks=checks)

        try:
            check()
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report
            failures.append(f"{operation.label}: {str(exc)[:2000]}")
    assert not failures, "\n\n".join(failures)
