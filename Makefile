# One command sets everything up and runs the assistant; one sets everything up and runs the tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup run test lint ingest bench clean chromium docker-compose

setup: $(STAMP)

# torch first, from the CPU wheel: any other torch pulls a multi-GB CUDA build.
# llama-cpp-python builds from source here (about 3.5 minutes on two cores, once per machine).
$(STAMP): requirements.txt requirements-llm.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -r requirements.txt -r requirements-llm.txt -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

run: setup
	$(BIN)/adoptbot run

ingest: setup
	$(BIN)/adoptbot ingest

test: setup chromium docker-compose
	$(BIN)/ruff check .
	$(BIN)/pytest

# The insight report's browser test drives Debian's Chromium (Playwright cannot download browsers here).
chromium:
	@test -x /usr/bin/chromium || { \
		echo "Installing Debian's chromium for the browser test (needs root; or: sudo apt-get install chromium)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

# The deploy tests check deploy/compose.yaml with Debian's docker-compose (`config` needs no Docker engine).
docker-compose:
	@command -v docker-compose >/dev/null || { \
		echo "Installing Debian's docker-compose for the deploy tests (needs root; or: sudo apt-get install docker-compose)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose; }

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf $(VENV) data
