# One command sets everything up and runs the assistant; one sets everything up and runs the tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SLACK_TYPES := tests/slack_types/node_modules/.package-lock.json

.PHONY: setup run test lint ingest bench clean system-packages

setup: $(STAMP)

# torch first, from the CPU wheel: any other torch pulls a multi-GB CUDA build.
# llama-cpp-python builds from source here (about 3.5 minutes on two cores, once per machine).
$(STAMP): requirements.txt requirements-llm.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -r requirements.txt -r requirements-llm.txt -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/adoptbot export-model  # the embedding model's ONNX copy: commands then start without torch
	touch $@

run: setup
	$(BIN)/adoptbot run

ingest: setup
	$(BIN)/adoptbot ingest

test: setup system-packages $(SLACK_TYPES)
	$(BIN)/ruff check .
	$(BIN)/pytest

# Real servers and tools the tests start, from Debian (Playwright cannot download browsers here):
# chromium for the insight report's browser test, postgresql's initdb/pg_ctl for the shared-state
# tests, docker-compose for `config` on deploy/compose.yaml (no Docker engine needed). Never skipped.
system-packages:
	@missing=""; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v docker-compose >/dev/null || missing="$$missing docker-compose"; \
	command -v kubectl >/dev/null || missing="$$missing kubectl"; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages the tests need:$$missing (needs root; or: sudo apt-get install$$missing)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# @slack/web-api's TypeScript types and tsc, pinned in tests/slack_types/package-lock.json, for
# tests/test_slack_types.py; installed again when the lock changes. Without npm the tests still run, and that
# test fails saying what to install.
$(SLACK_TYPES): tests/slack_types/package.json tests/slack_types/package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --prefix tests/slack_types --no-audit --no-fund; \
	else \
		echo "npm not found: tests/test_slack_types.py needs Node.js 20+ with npm, then npm ci --prefix tests/slack_types"; \
	fi

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf $(VENV) data
