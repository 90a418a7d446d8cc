# Everything installs itself into .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install browser demo test coverage bench check clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
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
test: $(STAMP) browser
	$(BIN)/pytest -q -n $(TEST_JOBS) --dist loadfile

# The same suite, measuring its line coverage of journeyman; fails under the floor set in
# pyproject.toml ([tool.coverage.report] fail_under). Slower than make test: CI runs both.
coverage: $(STAMP) browser
	$(BIN)/pytest -q -n $(TEST_JOBS) --dist loadfile --cov --cov-report=term:skip-covered

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

check: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) demo.db demo.db-wal demo.db-shm .pytest_cache .mypy_cache .ruff_cache .coverage
