"""The router's Prometheus metrics (process-wide, served on `/metrics`)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from integrations_common.cloudevents_codec import reasons
from integrations_common.transports import Transport

EVENTS_IN = Counter(
    "router_events_in_total", "Valid commerce events consumed, by event type.", ["type"]
)
EVENTS_REJECTED = Counter(
    "router_events_rejected_total",
    "Input records sent to the events dead-letter topic, by reason.",
    ["reason"],
)
JOBS_OUT = Counter(
    "router_jobs_out_total",
    "Delivery jobs acknowledged by Kafka, by transport.",
    ["transport"],
)
ROUTING_LATENCY = Histogram(
    "router_routing_latency_seconds",
    "From an input record's Kafka timestamp to the acknowledgement of its jobs.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
TABLE_SIZE = Gauge(
    "router_integrations", "Integrations in the routing table (all, by state).", ["state"]
)
INDEX_ENTRIES = Gauge("router_index_entries", "(tenant, event type) keys in the routing index.")
CONFIG_REJECTED = Counter(
    "router_config_rejected_total",
    "Values on the config topic that are not valid integration snapshots (ignored, logged).",
)
UNACKNOWLEDGED_BATCH_AGE = Gauge(
    "router_unacknowledged_batch_seconds",
    "How long the batch in flight has waited for Kafka's acknowledgements (0: none in flight).",
)
SEND_RETRIES = Counter(
    "router_send_retries_total", "Produce attempts that failed and were retried."
)

for _reason in reasons():
    EVENTS_REJECTED.labels(reason=_reason)
for _transport in Transport:
    JOBS_OUT.labels(transport=_transport.value)
