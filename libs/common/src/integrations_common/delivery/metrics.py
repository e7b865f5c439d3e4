"""Prometheus metric families of the delivery machinery, labelled by transport.

Every sender that runs a `DeliveryWorker` exports these without further work.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_LATENCY_BUCKETS = (
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    15,
    30,
    60,
    300,
    1800,
    3600,
    21_600,
    86_400,
)
_ATTEMPT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

ATTEMPTS = Counter(
    "integrations_delivery_attempts",
    "Delivery attempts by outcome (succeeded, failed, skipped) and status class (2xx..5xx, none).",
    ["transport", "outcome", "status_class"],
)
DELIVERY_LATENCY = Histogram(
    "integrations_delivery_latency_seconds",
    "From the event's time to its successful delivery.",
    ["transport"],
    buckets=_LATENCY_BUCKETS,
)
ATTEMPT_DURATION = Histogram(
    "integrations_delivery_attempt_duration_seconds",
    "How long one transport call took, per job.",
    ["transport"],
    buckets=_ATTEMPT_BUCKETS,
)
IN_FLIGHT = Gauge(
    "integrations_delivery_in_flight",
    "Jobs being attempted or having their outcome written right now.",
    ["transport"],
)
SLOW_LANE = Gauge(
    "integrations_delivery_slow_lane",
    "Jobs in flight for longer than slow_after_s (they no longer gate reading).",
    ["transport"],
)
SET_ASIDE = Counter(
    "integrations_delivery_set_aside",
    "Jobs set aside by reference to the slow lane's topic (their integration was over its limit).",
    ["transport"],
)
HANDED_OVER = Counter(
    "integrations_delivery_handed_over",
    "Jobs handed over unattempted by reference to the slow lane's topic when their partition "
    "was revoked or the worker stopped before their request started.",
    ["transport"],
)
POINTERS = Gauge(
    "integrations_delivery_set_aside_pointers",
    "Slow-lane pointers taken and not yet worked through.",
    ["transport"],
)
SET_ASIDE_MISSING = Counter(
    "integrations_delivery_set_aside_missing",
    "Set-aside jobs whose records were gone from their topic when read again (retention).",
    ["transport"],
)
TIER_LAG = Gauge(
    "integrations_delivery_retry_tier_lag_seconds",
    "How late the last job of a retry tier was attempted after it became due.",
    ["transport", "tier"],
)
OPEN_CIRCUITS = Gauge(
    "integrations_delivery_open_circuits",
    "Integrations whose circuit is open (jobs skip to the next tier without a request).",
    ["transport"],
)
SKIP_WAIT = Counter(
    "integrations_delivery_skip_wait_seconds",
    "Time open-circuit skips waited for their pace (delivery.skip_rate_per_s); rising steadily: "
    "failing destinations send more than the pace lets through.",
    ["transport"],
)
DEAD_LETTERS = Counter(
    "integrations_delivery_dead_letters",
    "Jobs written to the dead-letter topic (schedule exhausted, gave up, or unreadable).",
    ["transport", "reason"],
)
UNREADABLE = Counter(
    "integrations_delivery_unreadable_records",
    "Records on a deliveries or tier topic that are not a delivery job.",
    ["transport"],
)


def status_class(status_code: int | None) -> str:
    """`2xx`..`5xx` for an HTTP-like status, `none` when there was no answer."""
    if status_code is None or not 100 <= status_code <= 599:
        return "none"
    return f"{status_code // 100}xx"


class WorkerMetrics:
    """The children a worker updates per job or per batch, looked up once (a `labels()` call
    costs more than the update itself)."""

    def __init__(self, transport: str) -> None:
        self._transport = transport
        self.in_flight = IN_FLIGHT.labels(transport)
        self.slow_lane = SLOW_LANE.labels(transport)
        self.open_circuits = OPEN_CIRCUITS.labels(transport)
        self.attempt_duration = ATTEMPT_DURATION.labels(transport)
        self.latency = DELIVERY_LATENCY.labels(transport)
        self._attempts: dict[tuple[str, str], Counter] = {}

    def attempts(self, outcome: str, status: str) -> Counter:
        """The attempts counter of one outcome and status class."""
        found = self._attempts.get((outcome, status))
        if found is None:
            found = self._attempts[(outcome, status)] = ATTEMPTS.labels(
                self._transport, outcome, status
            )
        return found
