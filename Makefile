# Everything installs itself into .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install ui browser demo test soak coverage bench check clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ui

# The workflow builder (React + TypeScript, ui/) is built into the package, only when its
# sources are newer than the build; a wheel or sdist builds it too (setup.py).
UI_BUILT := src/journeyman/web/builder/index.html
UI_SOURCES := $(shell find ui/src -type f) ui/index.html ui/package.json ui/package-lock.json \
	ui/vite.config.ts ui/tsconfig.json

ui: $(UI_BUILT)

$(UI_BUILT): $(UI_SOURCES)
	@command -v npm >/dev/null 2>&1 || { echo "Node.js and npm build the workflow builder (ui/): install them" >&2; exit 1; }
	cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run build

demo: $(STAMP) ui
	rm -f demo.db demo.db-wal demo.db-shm
	$(BIN)/journeyman demo --file demo.db --contacts $(or $(CONTACTS),1000)

# The web UI tests drive Debian's Chromium; installed here when missing (needs root and apt).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the web UI tests"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
	    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }; \
	  else echo "chromium is missing: install it (apt-get install chromium) for tests/api/test_web_ui.py" >&2; fi; }

# Tests run in parallel processes (pytest-xdist), one test file per process at a time.
TEST_JOBS ?= 4
test: $(STAMP) browser ui
	$(BIN)/pytest -q -n $(TEST_JOBS) --dist loadfile

# The large workloads at full size (the tests marked slow, with --soak): the crash tests on
# 50,000-, 15,000- and 3,000-contact backlogs, the API fuzzing at 50 examples per operation. make test
# runs the same tests on smaller workloads; CI runs both.
soak: $(STAMP) browser ui
	$(BIN)/pytest -q -n $(TEST_JOBS) --dist loadfile --soak -m slow

# The same suite, measuring its line coverage of journeyman; fails under the floor set in
# pyproject.toml ([tool.coverage.report] fail_under). Slower than make test: CI runs both.
coverage: $(STAMP) browser ui
	$(BIN)/pytest -q -n $(TEST_JOBS) --dist loadfile --cov --cov-report=term:skip-covered

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

check: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) ui/node_modules src/journeyman/web/builder demo.db demo.db-wal demo.db-shm .pytest_cache .mypy_cache .ruff_cache .coverage
