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
	$(BIN)/python -m beatplan.maps.fetch_assets
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/beatplan demo --out $(DEMO) --overwrite

# mypy reads the packages through a view of the installed layout (beatplan/ with the four
# analysis folders linked in as beatplan/geo ...): it cannot follow the editable install's mapping.
TYPECHECK := build/typecheck
lint: setup
	$(BIN)/ruff check .
	rm -rf $(TYPECHECK) && mkdir -p $(TYPECHECK)/beatplan
	for f in beatplan/*; do case $$f in */__pycache__) ;; *) ln -s $(CURDIR)/$$f $(TYPECHECK)/$$f;; esac; done
	for p in geo boundaries hotspots maps; do ln -s $(CURDIR)/$$p $(TYPECHECK)/beatplan/$$p; done
	cd $(TYPECHECK) && $(CURDIR)/$(BIN)/mypy --config-file $(CURDIR)/pyproject.toml --cache-dir $(CURDIR)/.mypy_cache

pytest: setup
	$(BIN)/pytest -n 2 -q

test: lint pytest

bench: setup
	for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) $(DEMO) build .pytest_cache .mypy_cache .ruff_cache
