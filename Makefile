# Quick start:  make demo   (set up, then run `beatplan demo`)
#               make test   (set up, then lint, type-check and run the whole test suite)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.beatplan-installed
DEMO   ?= beatplan-demo

.PHONY: setup demo test lint pytest bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,dev]"
	$(BIN)/python -m maps.fetch_assets
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/beatplan demo --out $(DEMO) --overwrite

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

pytest: setup
	$(BIN)/pytest -n 2 -q

test: lint pytest

bench: setup
	for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache
