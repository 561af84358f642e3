# pomogu: the two commands are `make demo` and `make test`; both set up .venv when needed.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Re-install when pyproject.toml changes.
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
PYTEST_WORKERS ?= 2

.PHONY: demo test bench bench-peer bench-deps bench-clocks install system-deps lint format typecheck migrations-check security pytest clean

demo: $(STAMP)
	$(BIN)/pomogu demo

test: $(STAMP) system-deps lint typecheck migrations-check security pytest

# Chromium, dovecot and PostgreSQL's binaries for the tests that use real servers.
system-deps:
	@scripts/system-deps.sh

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff format --check src tests bench conftest.py scripts/audit-deps
	$(BIN)/ruff check src tests bench conftest.py scripts/audit-deps

format: $(STAMP)
	$(BIN)/ruff format src tests bench conftest.py scripts/audit-deps
	$(BIN)/ruff check --fix src tests bench conftest.py scripts/audit-deps

typecheck: $(STAMP)
	$(BIN)/mypy

migrations-check: $(STAMP)
	POMOGU_DATA_DIR=$$(mktemp -d) $(BIN)/pomogu makemigrations --check --dry-run

# SC-3 and SC-2 (docs/security-gates.md): no HIGH bandit finding in src, and no known
# vulnerability in the installed packages unless waived in security/waivers.toml. The deploy
# check (SC-1) and the header tests (SC-7) are part of the suite: tests/security/test_gates.py.
security: $(STAMP)
	$(BIN)/bandit -c pyproject.toml -r src -lll -q
	$(BIN)/python scripts/audit-deps

# The suite on SQLite, then again on PostgreSQL when DATABASE_URL names one.
pytest: $(STAMP)
	DATABASE_URL= $(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q -p no:cacheprovider
	@if [[ "$${DATABASE_URL:-}" == postgres* ]]; then \
	  echo "make: the suite again on PostgreSQL"; \
	  $(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q -p no:cacheprovider; \
	fi

# The benchmarks that exist so far (figures and method: docs/benchmarks.md); needs PostgreSQL
# (PG_URL, default postgres://postgres@127.0.0.1:5432) and dovecot. Not part of make test.
PG_URL ?= postgres://postgres@127.0.0.1:5432
bench: $(STAMP) system-deps bench-deps
	mkdir -p bench/results
	$(BIN)/python bench/intake/parse_speed.py | tee bench/results/parse_speed.txt
	$(BIN)/python bench/intake/run.py --pg $(PG_URL) --processes 2 --json bench/results/intake.json
	$(BIN)/python bench/triage/routing.py | tee bench/results/routing.txt
	$(BIN)/python bench/triage/anger_bench.py | tee bench/results/anger.txt
	$(BIN)/python bench/guard/run.py
	$(BIN)/python bench/recurrence/run.py
	$(MAKE) bench-peer

# Side by side with django-helpdesk (issue 9): the peer installed by ../shared/bench-peer's
# setup.sh into ~/peer (apt: wrk; pip: django-helpdesk), then API, mail and page figures for both
# in the same run: bench/results/side_by_side.{json,md}. About 40 minutes, plus building the
# 100,000- and 1,000,000-case databases the first time (kept). BENCH_PEER_ARGS=--quick: a smoke run.
bench-peer: $(STAMP) bench-deps
	mkdir -p bench/results
	$(BIN)/python bench/peer/run.py --pg $(PG_URL) $(BENCH_PEER_ARGS)

# The profilers the benchmarks use (pyproject's "bench" extra).
bench-deps: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'

# A million cases in PostgreSQL and two Celery workers on Redis: about 10 minutes.
bench-clocks: $(STAMP)
	mkdir -p bench/results
	$(BIN)/python bench/clocks/run.py --pg $(PG_URL)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
