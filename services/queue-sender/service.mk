# The queue sender's commands. Included by the root Makefile.
#   make bench-queue [BENCH_QUEUE_ARGS="--sqs-messages 2000 --stomp-messages 5000 --rounds 3"]
BENCH_QUEUE_ARGS ?=

.PHONY: bench-queue

bench-queue: install ## SQS (batched, unbatched) and STOMP msg/s vs the raw clients, same run.
	@set -a; source .run/secrets.env 2>/dev/null || true; source services/queue-sender/local.env; set +a; \
	  .venv/bin/python -m bench.queue_bench \
	    --sqs-endpoint "$$QUEUE_SENDER_SQS__ENDPOINT_URL" $(BENCH_QUEUE_ARGS)
