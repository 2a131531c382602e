# taskbridge — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_PG_URL ?= postgresql://postgres@127.0.0.1:5432/taskbridge_test
# Each pass counts its rate limits in a Redis database of its own: the two passes run at once.
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
TEST_PG_REDIS_URL ?= redis://127.0.0.1:6379/10
PYTEST_ARGS ?=

.PHONY: help
help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m pip install --quiet --target $(CURDIR)/.tools uv

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-groups
	@touch $@

.PHONY: install
install: .venv/.synced ## Create .venv with the locked dependencies

.PHONY: run
run: install ## Migrate, seed the demo tenant, serve on http://$(HOST):$(PORT)
	$(UV) run --frozen taskbridge db upgrade
	$(UV) run --frozen taskbridge demo
	$(UV) run --frozen taskbridge serve --host $(HOST) --port $(PORT)

.PHONY: test
test: install ## The whole suite on SQLite and on PostgreSQL ($(TEST_PG_URL)), both passes at once
	@$(UV) run --frozen python -m tests.create_database "$(TEST_PG_URL)"
	@echo "== tests on SQLite and on PostgreSQL at the same time (PostgreSQL's output follows SQLite's)"
	@log=$$(mktemp); \
	TASKBRIDGE_TEST_DATABASE_URL="$(TEST_PG_URL)" TASKBRIDGE_TEST_REDIS_URL="$(TEST_PG_REDIS_URL)" \
		$(UV) run --frozen pytest $(PYTEST_ARGS) >"$$log" 2>&1 & pg=$$!; \
	echo "== tests on SQLite"; \
	TASKBRIDGE_TEST_REDIS_URL="$(TEST_REDIS_URL)" $(UV) run --frozen pytest $(PYTEST_ARGS); sqlite=$$?; \
	wait $$pg; postgres=$$?; \
	echo "== tests on PostgreSQL"; cat "$$log"; rm -f "$$log"; \
	echo "== SQLite pass exit $$sqlite, PostgreSQL pass exit $$postgres"; \
	test $$sqlite = 0 && test $$postgres = 0

.PHONY: test-sqlite
test-sqlite: install ## The whole suite on SQLite only
	TASKBRIDGE_TEST_REDIS_URL="$(TEST_REDIS_URL)" $(UV) run --frozen pytest $(PYTEST_ARGS)

.PHONY: test-pg
test-pg: install ## The whole suite on PostgreSQL only ($(TEST_PG_URL))
	@$(UV) run --frozen python -m tests.create_database "$(TEST_PG_URL)"
	TASKBRIDGE_TEST_DATABASE_URL="$(TEST_PG_URL)" TASKBRIDGE_TEST_REDIS_URL="$(TEST_PG_REDIS_URL)" \
		$(UV) run --frozen pytest $(PYTEST_ARGS)

FUZZ_PG_URL ?= postgresql://postgres@127.0.0.1:5432/taskbridge_fuzz
FUZZ_ARGS ?=

.PHONY: fuzz
fuzz: install ## schemathesis on the served OpenAPI: SQLite + PostgreSQL, key/bearer/anonymous (~3 min; fails on any 5xx or lie)
	@$(UV) run --frozen python -m tests.create_database "$(FUZZ_PG_URL)"
	$(UV) run --frozen python -m fuzz.run --pg-url "$(FUZZ_PG_URL)" $(FUZZ_ARGS)

BENCH_PG_URL ?= postgresql://postgres@127.0.0.1:5432/taskbridge_bench

.PHONY: bench
bench: install ## Benchmarks against the machine's limits (not tests; ~10 min; needs wrk + PostgreSQL)
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	@$(UV) run --frozen python -m tests.create_database "$(BENCH_PG_URL)"
	BENCH_PG_URL="$(BENCH_PG_URL)" $(UV) run --frozen python -m bench.run $(BENCH_ARGS)
	$(UV) run --frozen python -m bench.dispatch

.PHONY: bench-dispatch
bench-dispatch: install ## Push dispatch: 5,000 tasks, commit→receiver p50/p99, deliveries/s (~2 min; PostgreSQL)
	$(UV) run --frozen python -m bench.dispatch $(BENCH_ARGS)

DEPLOY_PG_URL ?= postgresql://postgres@127.0.0.1:5432/taskbridge_deploy
DEPLOY_REDIS_URL ?= redis://127.0.0.1:6379/15

# tests/deploy also runs in `make test`'s PostgreSQL pass (so CI runs it); this runs it alone.
.PHONY: deploy-check
deploy-check: install ## deploy/ for real: nginx + TLS, two servers, a dispatcher, PostgreSQL, Redis (1-3 min)
	@$(UV) run --frozen python -m tests.create_database "$(DEPLOY_PG_URL)"
	TASKBRIDGE_TEST_DATABASE_URL="$(DEPLOY_PG_URL)" TASKBRIDGE_TEST_REDIS_URL="$(DEPLOY_REDIS_URL)" \
		$(UV) run --frozen pytest tests/deploy $(PYTEST_ARGS)

.PHONY: lint
lint: install ## ruff (lint + format check) and mypy --strict
	$(UV) run --frozen ruff check src tests bench fuzz
	$(UV) run --frozen ruff format --check src tests bench fuzz
	$(UV) run --frozen mypy

.PHONY: format
format: install ## Apply ruff's fixes and formatting
	$(UV) run --frozen ruff check --fix src tests fuzz
	$(UV) run --frozen ruff format src tests fuzz
