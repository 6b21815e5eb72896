# The two commands a newcomer needs: `make run` and `make test`.
# Everything else here is what those two are made of.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DB ?= huishoudboekje-demo.db
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install lint typecheck unit reliability bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

## Serve the demo on http://$(HOST):$(PORT) with SQLite and demo data.
run: install
	HUISHOUDBOEKJE_DEMO=1 HUISHOUDBOEKJE_DATABASE_URL=sqlite:///$(DEMO_DB) $(BIN)/huishoudboekje db upgrade
	HUISHOUDBOEKJE_DEMO=1 HUISHOUDBOEKJE_DATABASE_URL=sqlite:///$(DEMO_DB) $(BIN)/huishoudboekje demo seed
	HUISHOUDBOEKJE_DEMO=1 HUISHOUDBOEKJE_DATABASE_URL=sqlite:///$(DEMO_DB) $(BIN)/huishoudboekje serve --host $(HOST) --port $(PORT)

## The whole suite: lint, types, architecture contract, tests (PostgreSQL too when
## HUISHOUDBOEKJE_TEST_POSTGRES_URL is set).
test: install lint typecheck unit

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest

## The benchmark of docs/performance.md: `make bench BENCH_PARTICIPANTS=10000
## BENCH_DATABASE=postgresql+psycopg://...` (that database's public schema is DROPPED).
BENCH_PARTICIPANTS ?= 1000
bench: install
	$(BIN)/huishoudboekje bench --participants $(BENCH_PARTICIPANTS) $(if $(BENCH_DATABASE),--database $(BENCH_DATABASE))

## The long reliability suite: 300 crash trials per step (half in cold processes),
## 5 x 24 simulated months, 50 schemathesis examples per operation and role;
## PostgreSQL too when HUISHOUDBOEKJE_TEST_POSTGRES_URL is set. See docs/reliability.md.
reliability: install
	HUISHOUDBOEKJE_RELIABILITY_LONG=1 $(BIN)/pytest tests/reliability tests/cycle/test_robustness.py tests/payments/test_batches.py tests/bank_import/test_concurrency.py tests/bank/test_fuzz.py

clean:
	rm -rf $(VENV) $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm .pytest_cache .mypy_cache .ruff_cache
