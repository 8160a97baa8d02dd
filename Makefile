# Two commands a newcomer needs: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# RAR archives and ComicInfo schemas for the tests, from pinned and hashed releases (tools/fixtures.txt).
FIXTURES := .fixtures/.fetched

.PHONY: run test lint bench install clean image-check

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	# schemathesis checks the API from outside, from its own venv: its pins clash with comictagger's.
	$(PY) -m venv .venv-schemathesis
	.venv-schemathesis/bin/pip install -q schemathesis==4.32.5
	touch $(STAMP)

$(FIXTURES): tools/fixtures.txt tools/fetch_fixtures.py | $(STAMP)
	$(BIN)/python tools/fetch_fixtures.py .fixtures
	touch $(FIXTURES)

install: $(STAMP) $(FIXTURES)

# Starts the service on ./library (or $$WATCHED_DIR), state in ./config.
run: $(STAMP)
	$(BIN)/python -m comicmaintainer.devrun

test: $(STAMP) $(FIXTURES)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools/fetch_fixtures.py
	$(BIN)/ruff format --check src tests bench tools/fetch_fixtures.py
	$(BIN)/mypy
	$(BIN)/bandit -q -c pyproject.toml -r src --severity-level medium
	$(BIN)/hadolint docker/Dockerfile
	@out=$$($(BIN)/pip-audit --strict --progress-spinner off 2>&1); rc=$$?; \
	if echo "$$out" | grep -qiE "could not be audited|ConnectionError|Max retries"; then \
	  echo "pip-audit: vulnerability source unreachable; dependencies not audited"; \
	else echo "$$out"; exit $$rc; fi

bench: $(STAMP)
	$(BIN)/python bench/process_library.py

# Builds docker/Dockerfile as it is and runs the image (root; podman, no daemon): see docs/OPERATIONS.md.
image-check:
	tools/image-check .

clean:
	rm -rf $(VENV) .venv-schemathesis .fixtures config
