# Every target creates .venv itself, so a fresh clone needs only Python >= 3.11 and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck unit bench bench-quick bench-tools clean i18n catalogs schema refs help-text screenshots browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/mgadvisor serve --host 127.0.0.1 --port 8000


lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy src

unit: $(STAMP)
	$(BIN)/pytest

test: lint typecheck browser unit

# Debian's chromium for the browser tests (and Pango for the PDF); installed when missing and root.
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core >/dev/null; \
	  else echo "chromium missing and not root: browser tests will be skipped (apt-get install chromium)"; fi; \
	fi


# wrk (Debian) loads the web app for the throughput figures; installed when missing and root.
# `make bench-quick` runs every benchmark with small counts (BENCH_QUICK=1), to check the harness.
bench: $(STAMP) bench-tools
	$(BIN)/python benchmarks/run.py

bench-quick: $(STAMP) bench-tools
	BENCH_QUICK=1 $(BIN)/python benchmarks/run.py

bench-tools:
	@if ! command -v wrk >/dev/null 2>&1 && [ "$$(id -u)" = "0" ]; then \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null 2>&1 || \
	  (DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null); \
	fi

schema: $(STAMP)
	$(BIN)/python -m mgadvisor.schemas

# Re-render the APA bibliography after editing knowledge/references.json.
refs: $(STAMP)
	$(BIN)/python -m mgadvisor.render.apa

# Re-render the root `--help` texts after changing a command or its help (a test compares them).
help-text: $(STAMP)
	$(BIN)/python -m mgadvisor._help

# Refresh docs/screenshots/ from the browser tests (needs Debian's chromium).
screenshots: $(STAMP)
	MGADVISOR_SCREENSHOTS=1 $(BIN)/pytest tests/test_browser.py


clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache

# Re-extract interface strings into the catalogs; then translate the new Dutch msgstr entries
# and run `make catalogs`.
i18n: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k t -k T -k N_ --no-location --omit-header --no-wrap -o src/mgadvisor/locale/messages.pot src/mgadvisor

	$(BIN)/pybabel update -i src/mgadvisor/locale/messages.pot -d src/mgadvisor/locale --no-wrap --ignore-obsolete

# Compile the .po catalogs to the .mo files read at run time (a test fails while they differ).
catalogs: $(STAMP)
	$(BIN)/python -m mgadvisor.i18n
