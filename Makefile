# Every target creates .venv itself, so a fresh clone needs only Python >= 3.11 and make.
# It installs the exact versions of the lock file, each checked against its hashes
# (requirements-dev.txt: the app, the dev tools, and the build backend with what an editable
# install needs; requirements.txt: the app alone, for a deployment). After changing a
# dependency in pyproject.toml: `make lock`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LOCK   := requirements-dev.txt
UV     := uv==0.13.8
# Advisories accepted after review, one `--ignore-vuln ID` each (with a comment saying why).
AUDIT_IGNORE :=

.PHONY: run test lint typecheck unit web-gate audit lock bench bench-quick bench-tools clean i18n catalogs schema refs help-text screenshots browser

$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "mgadvisor needs Python 3.11 or newer: make PYTHON=python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Re-pin every dependency (newest versions allowed by pyproject.toml unless already pinned;
# `make lock UPGRADE=--upgrade` moves them all) for every platform and Python >= 3.11.
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet '$(UV)'
	printf 'hatchling>=1.25\neditables\npip\n' | $(BIN)/uv pip compile pyproject.toml - --extra dev \
	  --universal --python-version 3.11 --generate-hashes --custom-compile-command 'make lock' \
	  --quiet $(UPGRADE) -o requirements-dev.txt
	$(BIN)/uv pip compile pyproject.toml -c requirements-dev.txt --universal --python-version 3.11 \
	  --generate-hashes --custom-compile-command 'make lock' --quiet -o requirements.txt
	$(BIN)/python -m pip uninstall --quiet --yes uv

# Known vulnerabilities in the locked versions (pip-audit); skipped, with a line saying so,
# where no advisory data can be reached.
audit: $(STAMP)
	$(BIN)/python .ci/audit.py $(LOCK) $(AUDIT_IGNORE)

run: $(STAMP)
	$(BIN)/mgadvisor serve --host 127.0.0.1 --port 8000


lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy src

# All tests, with the coverage floor of the core ([tool.coverage] in pyproject.toml).
unit: $(STAMP)
	$(BIN)/pytest --cov --cov-report=term:skip-covered

# The web gate of issue 11, on its own (`make test` runs it too, in `unit`): the hardening tests,
# schemathesis over every operation and a short load with slow clients, on loopback (~40 s).
web-gate: $(STAMP)
	$(BIN)/pytest -q tests/test_hardening_web.py tests/test_web_gate.py

test: lint typecheck browser unit audit

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
	MGADVISOR_SCREENSHOTS=1 $(BIN)/pytest tests/test_browser.py tests/test_browser_a11y.py tests/test_browser_documents.py tests/test_browser_form.py tests/test_browser_practice.py


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
