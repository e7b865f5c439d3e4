# The platform's commands. `make up` runs it locally; `make test` runs every check and test.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.SHELLFLAGS := -eu -o pipefail -c

UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
PYTEST_ARGS ?=

.PHONY: help install lint format up down infra-up infra-down infra-status infra-reset \
        services-up services-down services-status test test-unit bench chaos dlq

help: ## List the commands.
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

install: .venv/.synced ## Install uv (if missing) and every package, pinned by uv.lock.

.venv/.synced: uv.lock pyproject.toml libs/*/pyproject.toml services/*/pyproject.toml
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet "uv==$(UV_VERSION)"
	$(UV) sync --all-packages --frozen --compile-bytecode
	@# Bytecode once, here: with PYTHONDONTWRITEBYTECODE set (as on our machines), every process
	@# would compile every module again at each start (1.3 s of CPU instead of 0.5 s per service).
	@.venv/bin/python -m compileall -q libs/*/src services/*/src >/dev/null
	@touch $@

dlq: install ## Dead letters without the API: make dlq ARGS='list --transport webhook' (docs/deploy.md).
	@set +u -a; RUN_DIR="$${INFRA_RUN_DIR:-.run}"; [ ! -f "$$RUN_DIR/secrets.env" ] || . "$$RUN_DIR/secrets.env"; \
	  . services/api/local.env; set +a; .venv/bin/integrations-dlq $(ARGS)

lint: install ## ruff (lint and format check) and mypy --strict.
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy .

format: install ## Apply ruff's fixes and formatting.
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

infra-up: ## Fetch (once), start and health-check Kafka, the MongoDB-wire store, ElasticMQ and ActiveMQ.
	infra/infra.sh up

infra-down: ## Stop the local servers.
	infra/infra.sh down

infra-status: ## Show which local servers are healthy.
	infra/infra.sh status

infra-reset: ## Stop the local servers and delete their data (the download cache stays).
	infra/infra.sh reset

services-up: install ## Start the platform's services in the background.
	infra/services.sh up

services-down: ## Stop the platform's services.
	infra/services.sh down

services-status: ## Show which services run.
	infra/services.sh status

up: install infra-up services-up ## Run the whole platform locally (REPLICAS="router=2 webhook-sender=3" for more workers).
	@echo "The platform is up: API on http://127.0.0.1:$${API_PORT:-8080}/v2, logs in .run/logs/"

down: ## Stop the whole platform; leaves no process behind.
	infra/services.sh down
	infra/infra.sh down

test: install lint browser ## Lint, then every test against real servers (started if needed).
	scripts/run-tests.sh $(PYTEST_ARGS)

test-unit: install ## Only the unit tests (no servers).
	.venv/bin/pytest -m unit $(PYTEST_ARGS)

bench: install infra-up ## End-to-end benchmark: stepped load, latency, CPU; writes docs/benchmarks.md.
	.venv/bin/python -m bench.e2e_bench $(BENCH_ARGS)

.PHONY: bench-logs
bench-logs: install infra-up ## Attempt logs/s through the log writer vs raw insert_many (same run); docs/benchmarks.md.
	.venv/bin/python -m bench.logs_bench $(BENCH_LOGS_ARGS)

.PHONY: bench-scaling
bench-scaling: install infra-up ## Deliveries/s with 1, 2, 3 webhook-sender replicas on 6 partitions; docs/benchmarks.md.
	.venv/bin/python -m bench.scaling $(SCALING_ARGS)

.PHONY: bench-rebalance
bench-rebalance: install infra-up ## Routers and webhook senders scaled 1 -> 3 -> 1 under load: lost, duplicates, p99; docs/benchmarks.md.
	.venv/bin/python -m bench.rebalance $(REBALANCE_ARGS)

chaos: install infra-up ## Fault injection under load: lost/duplicate deliveries, recovery; docs/reliability.md.
	.venv/bin/python -m bench.chaos $(CHAOS_ARGS)

# --- browser for the console's tests (services/api/tests/test_console_browser.py) ----------------
.PHONY: browser
browser: ## Install headless Chromium + chromedriver (Debian packages) for the console's browser tests.
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing chromium and chromium-driver (apt-get) for the browser tests..."; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  { apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 \
	    || { apt-get update -qq >/dev/null 2>&1 \
	         && apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1; }; } \
	  || echo "WARNING: apt-get could not install chromium; the browser tests will be skipped." >&2; \
	else \
	  echo "WARNING: chromium/chromedriver missing and not installable here (needs root and apt-get);" \
	    "the browser tests will be skipped." >&2; \
	fi

-include services/*/service.mk
-include deploy/*.mk

.PHONY: bench-noisy
bench-noisy: install infra-up ## Noisy neighbours: bad endpoints vs healthy p99, burst fairness; docs/benchmarks.md.
	.venv/bin/python -m bench.noisy $(NOISY_ARGS)

.PHONY: bench-burst
bench-burst: install infra-up ## A queued burst of one integration: the others' first attempt and CPU, by fetch size.
	.venv/bin/python -m bench.burst_bench $(BURST_ARGS)
