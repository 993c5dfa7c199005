# Every target creates .venv itself, so a fresh clone needs only Python >= 3.11 and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck unit bench clean i18n schema

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/mgadvisor advise examples/intake-example.yaml

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy src

unit: $(STAMP)
	$(BIN)/pytest

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

schema: $(STAMP)
	$(BIN)/python -m mgadvisor.schemas

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache

# Re-extract interface strings into the catalogs; then translate the new Dutch msgstr entries.
i18n: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k t -k T -k N_ --no-location --omit-header --no-wrap -o src/mgadvisor/locale/messages.pot src/mgadvisor

	$(BIN)/pybabel update -i src/mgadvisor/locale/messages.pot -d src/mgadvisor/locale --no-wrap --ignore-obsolete
