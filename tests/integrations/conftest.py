"""The web tests' live uvicorn server, for the integration tests that drive the API."""

from tests.web.conftest import live_server  # noqa: F401 - a fixture
