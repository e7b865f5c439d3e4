"""The worker's metric children are the families' own: updates show in /metrics."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from integrations_common.delivery import metrics

pytestmark = pytest.mark.unit


def test_worker_metrics_update_the_labelled_series() -> None:
    children = metrics.WorkerMetrics("test-transport")
    assert children.attempts("succeeded", "2xx") is metrics.ATTEMPTS.labels(
        "test-transport", "succeeded", "2xx"
    )
    assert children.attempts("succeeded", "2xx") is children.attempts("succeeded", "2xx")
    before = REGISTRY.get_sample_value(
        "integrations_delivery_attempts_total",
        {"transport": "test-transport", "outcome": "failed", "status_class": "5xx"},
    )
    children.attempts("failed", "5xx").inc()
    children.latency.observe(0.2)
    children.in_flight.inc(3)
    after = REGISTRY.get_sample_value(
        "integrations_delivery_attempts_total",
        {"transport": "test-transport", "outcome": "failed", "status_class": "5xx"},
    )
    assert after == (before or 0.0) + 1
    assert (
        REGISTRY.get_sample_value(
            "integrations_delivery_in_flight", {"transport": "test-transport"}
        )
        == 3
    )
    assert (
        REGISTRY.get_sample_value(
            "integrations_delivery_latency_seconds_count", {"transport": "test-transport"}
        )
        == 1
    )
