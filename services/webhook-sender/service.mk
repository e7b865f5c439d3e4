# The webhook sender's commands. Included by the root Makefile.
#   make bench-webhook [BENCH_WEBHOOK_N=10000 BENCH_WEBHOOK_C=64]
BENCH_WEBHOOK_N ?= 10000
BENCH_WEBHOOK_C ?= 64

.PHONY: bench-webhook

bench-webhook: install ## Webhook sender deliveries/s vs wrk and raw aiohttp/httpx against nginx (same run).
	@if ! { command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; } || ! command -v wrk >/dev/null 2>&1; then \
	  echo "installing nginx and wrk (Debian)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y nginx wrk >/dev/null || { $$SUDO apt-get update >/dev/null && $$SUDO apt-get install -y nginx wrk >/dev/null; }; \
	fi
	@PATH="$$PATH:/usr/sbin" BENCH_N=$(BENCH_WEBHOOK_N) BENCH_C=$(BENCH_WEBHOOK_C) \
	  KAFKA_BOOTSTRAP_SERVERS=$${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:9092} \
	  .venv/bin/python -m bench.webhook_bench
