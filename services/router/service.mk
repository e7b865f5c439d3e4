# The router's commands. Included by the root Makefile.
#   make emit TYPE=order.paid STORE_ID=s-1 ORG_ID=o-1 DATA=order.json   (STORE_ID empty = org-level)
#   make bench-router [BENCH_EVENTS=20000 BENCH_INTEGRATIONS=3 BENCH_PARTITIONS=6]
TYPE ?=
STORE_ID ?=
ORG_ID ?=
DATA ?=
EVENT_ID ?=
BENCH_EVENTS ?= 20000
BENCH_INTEGRATIONS ?= 3
BENCH_PARTITIONS ?= 6

.PHONY: emit bench-router

emit: install ## Emit one event: TYPE=order.paid STORE_ID=… ORG_ID=… DATA=file.json
	@if [ -z "$(TYPE)" ] || [ -z "$(ORG_ID)" ]; then \
	  echo "usage: make emit TYPE=order.paid ORG_ID=… [STORE_ID=…] [DATA=file.json] [EVENT_ID=…]" >&2; exit 2; fi
	@set -a; source services/router/local.env; set +a; \
	  .venv/bin/python -m integrations_router.emit --type "$(TYPE)" --org-id "$(ORG_ID)" \
	    --store-id "$(STORE_ID)" --data "$(DATA)" --id "$(EVENT_ID)"

bench-router: install ## Router throughput vs a plain aiokafka consume->produce loop (same run).
	@set -a; source services/router/local.env; set +a; \
	  .venv/bin/python -m bench.router_bench --events $(BENCH_EVENTS) \
	    --integrations $(BENCH_INTEGRATIONS) --partitions $(BENCH_PARTITIONS)
