# xrec: `make run` (set up + the daily job on the sample) and `make test` are the two front doors.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
START ?=
END ?=
SIZES ?= S

.PHONY: run test lint setup system-deps backfill airflow bench docs compose-check clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

# Debian packages the tests use: chromium renders the run report, docker-compose validates
# docker-compose.yml. Installed only when missing.
system-deps:
	@command -v chromium >/dev/null && command -v docker-compose >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium docker-compose >/dev/null)

run: setup
	$(BIN)/xrec run --latest

# Two worker processes (pytest-xdist), a test file per worker at a time: the end-to-end runs
# spend much of their time waiting on Airflow, so two at once use the 2 cores CI has. Files go
# out in collection order (end-to-end first, tests/conftest.py), not xdist's default of most
# tests first, which left the long single-test files for the end. The 25 slowest are listed.
TEST_WORKERS ?= 2
test: setup system-deps lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=25

# Lint, format and types (configured in pyproject.toml), before the tests: CI fails on any finding.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

backfill: setup
	@test -n "$(START)" -a -n "$(END)" || (echo "usage: make backfill START=YYYY-MM-DD END=YYYY-MM-DD" && exit 2)
	$(BIN)/xrec backfill --start $(START) --end $(END)

# The Airflow UI on the embedded metadata (where `make run` and `make backfill` runs appear).
airflow: setup
	$(BIN)/xrec airflow

bench: setup
	$(BIN)/xrec bench --sizes $(SIZES)

docs: setup
	$(BIN)/xrec docs

compose-check: system-deps
	POSTGRES_PASSWORD=placeholder AIRFLOW_JWT_SECRET=placeholder docker-compose -f docker-compose.yml config -q

clean:
	rm -rf data .airflow dbt_project/target dbt_project/logs
