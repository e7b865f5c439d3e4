"""One event's trace across the running platform, exported over real OTLP/HTTP.

The services run as processes with `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at a small collector
in the test (`otlp_collector.py`). A producer emits one event carrying the CloudEvents
distributed-tracing extension; the receiver fails the first attempt, so the trace holds the
route, two attempts, the retry and both log writes, all under the producer's trace id, and the
receiver gets each attempt's `traceparent`.

Set `INTEGRATIONS_TRACE_DUMP=<file>` to keep the collected spans as JSON (for
`python -m bench.trace_picture`, the picture in docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.clients import (
    api_client,
    cloud_event,
    kafka_producer,
    send_event,
    webhook_attributes,
)
from tests.e2e.harness import Platform, RunConfig, RunFactory
from tests.e2e.otlp_collector import CollectedSpan, OtlpCollector
from tests.e2e.receivers import WebhookReceiver, fail_first

pytestmark = pytest.mark.e2e

STORE_ID = f"store-{uuid.uuid4().hex[:8]}"
ORG_ID = f"org-{uuid.uuid4().hex[:8]}"
TRACE_ID = uuid.uuid4().hex
PRODUCER_SPAN = uuid.uuid4().hex[:16]


@pytest.fixture
async def collector() -> AsyncIterator[OtlpCollector]:
    async with OtlpCollector() as started:
        yield started


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver(behaviour=fail_first(1)) as started:
        yield started


def _run(new_run: RunFactory, collector: OtlpCollector) -> RunConfig:
    return new_run(
        {
            "WEBHOOK_SENDER_DELIVERY__RETRY_SCHEDULE": "1s,2s",
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            "OTEL_TRACES_SAMPLER": "parentbased_always_on",
        }
    )


async def _emit(run: RunConfig) -> str:
    """One order.paid event with the distributed-tracing extension, as a producer sends it."""
    event = cloud_event(
        "order.paid",
        source="urn:e2e:tracing",
        org_id=ORG_ID,
        store_id=STORE_ID,
        traceparent=f"00-{TRACE_ID}-{PRODUCER_SPAN}-01",
    )
    async with kafka_producer(run.kafka_bootstrap_servers) as producer:
        await send_event(producer, run, event)
    return str(event["id"])


def _dump(trace: list[CollectedSpan]) -> None:
    target = os.environ.get("INTEGRATIONS_TRACE_DUMP")
    if target:
        Path(target).write_text(json.dumps([s.to_json() for s in trace], indent=1))


def _complete(spans: list[CollectedSpan]) -> bool:
    names = [s.name for s in spans if s.trace_id == TRACE_ID]
    return names.count("attempt") == 2 and names.count("log write") == 2 and "route" in names


async def test_one_event_is_one_trace_from_the_router_to_the_receiver(
    new_run: RunFactory,
    collector: OtlpCollector,
    receiver: WebhookReceiver,
    tmp_path: Path,
) -> None:
    run = _run(new_run, collector)
    platform = Platform(run, tmp_path / "logs")
    try:
        await asyncio.to_thread(platform.start)
        async with api_client(platform, run, store_id=STORE_ID, org_id=ORG_ID) as api:
            created = await api.post(
                "/integrations",
                json={"data": webhook_attributes("traced", receiver.url, "secret_squirrel")},
            )
            assert created.status_code == 200, created.text
        await asyncio.sleep(3)  # the router applies a config change within about a second
        event_id = await _emit(run)
        requests = await receiver.wait_for(lambda rs: len(rs) >= 2, timeout=60)
        spans = await collector.wait_for(_complete, timeout=60)
    finally:
        codes = await asyncio.to_thread(platform.stop)
    assert all(code in (0, None) for code in codes.values()), codes

    trace = [s for s in spans if s.trace_id == TRACE_ID]
    _dump(trace)
    by_name: dict[str, list[CollectedSpan]] = {}
    for span in sorted(trace, key=lambda s: s.start_ns):
        by_name.setdefault(span.name, []).append(span)
    [route] = by_name["route"]
    attempts = by_name["attempt"]
    [retry] = by_name["retry"]
    assert route.service == "integrations-router"
    assert route.parent_span_id == PRODUCER_SPAN
    assert route.attributes["integrations.event.id"] == event_id
    assert [a.service for a in attempts] == ["integrations-webhook-sender"] * 2
    assert [a.attributes["integrations.attempt"] for a in attempts] == [1, 2]
    assert [a.attributes["integrations.status"] for a in attempts] == ["failed", "succeeded"]
    assert attempts[0].parent_span_id == route.span_id
    assert retry.parent_span_id == attempts[0].span_id
    assert attempts[1].parent_span_id == retry.span_id
    writes = by_name["log write"]
    assert {w.service for w in writes} == {"integrations-log-writer"}
    assert sorted(w.parent_span_id for w in writes) == sorted(a.span_id for a in attempts)
    # the receiver joins the trace: each request's parent is its attempt
    sent = [r.headers["traceparent"].split("-") for r in requests[:2]]
    assert [(parts[1], parts[2]) for parts in sent] == [(TRACE_ID, a.span_id) for a in attempts]
    # the API's requests are traced too (their own traces)
    assert any(s.service == "integrations-api" and s.name == "POST /v2/integrations" for s in spans)
