"""The router's route spans: their parent (Kafka header or CloudEvents extension) and the
`traceparent` every job carries; unit tests with the in-memory SDK, and one against Kafka."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from integrations_common import tracing
from integrations_common.cloudevents_codec import encode_binary, encode_structured
from integrations_common.events import CommerceEvent
from integrations_common.integrations import IntegrationSnapshot
from integrations_common.jobs import utc_now
from integrations_common.settings import TopicSettings
from integrations_common.transports import Transport
from integrations_router.index import RoutingIndex
from integrations_router.route_spans import RouteSpans
from integrations_router.router import Router
from integrations_router.routing import route_record
from integrations_router.settings import RouterSettings

TOPICS = TopicSettings()
HEADER_TRACE = 0x11111111111111111111111111111111
EXTENSION_TRACE = 0x22222222222222222222222222222222
HEADER_PARENT = f"00-{HEADER_TRACE:032x}-1111111111111111-01"
EXTENSION_PARENT = f"00-{EXTENSION_TRACE:032x}-2222222222222222-01"


class Record:
    def __init__(self, value: bytes, headers: list[tuple[str, bytes]]) -> None:
        self.value, self.headers, self.key = value, headers, b"k"
        self.topic, self.partition, self.offset, self.timestamp = "commerce.events", 0, 7, 0


def _route(record: Record, hook: IntegrationSnapshot) -> tuple[list[list[tuple[str, bytes]]], Any]:
    index = RoutingIndex()
    index.apply(hook.id, hook)
    spans = RouteSpans()
    started = time.time_ns()
    result = route_record(record, index=index, topics=TOPICS, now=utc_now())
    spans.add(record, result, started)
    spans.end()
    return [out.headers for out in result.outgoing], result


def _trace_of(headers: list[tuple[str, bytes]]) -> int:
    return int(dict(headers)["traceparent"].decode().split("-")[1], 16)


@pytest.mark.unit
@pytest.mark.parametrize("binary", [False, True])
def test_the_cloudevents_extension_is_the_parent_when_no_header_is(
    exported: InMemorySpanExporter,
    make_snapshot: Callable[..., IntegrationSnapshot],
    make_event: Callable[..., CommerceEvent],
    binary: bool,
) -> None:
    event = CommerceEvent.model_validate(
        {**make_event().model_dump(), "traceparent": EXTENSION_PARENT}
    )
    value, headers = (encode_binary if binary else encode_structured)(event)
    if binary:
        assert ("ce_traceparent", EXTENSION_PARENT.encode()) in headers
    jobs, _ = _route(Record(value, headers), make_snapshot())
    [span] = exported.get_finished_spans()
    assert span.name == "route"
    assert span.kind is SpanKind.CONSUMER
    assert span.context.trace_id == EXTENSION_TRACE
    assert span.parent is not None
    assert span.parent.span_id == 0x2222222222222222
    assert span.attributes is not None
    assert span.attributes["integrations.event.id"] == event.id
    assert span.attributes["integrations.jobs"] == 1
    assert _trace_of(jobs[0]) == EXTENSION_TRACE
    assert dict(jobs[0])["traceparent"].decode().split("-")[2] == f"{span.context.span_id:016x}"


@pytest.mark.unit
def test_a_traceparent_header_wins_over_the_extension(
    exported: InMemorySpanExporter,
    make_snapshot: Callable[..., IntegrationSnapshot],
    make_event: Callable[..., CommerceEvent],
) -> None:
    event = CommerceEvent.model_validate(
        {**make_event().model_dump(), "traceparent": EXTENSION_PARENT}
    )
    value, headers = encode_structured(event)
    jobs, _ = _route(
        Record(value, [*headers, ("traceparent", HEADER_PARENT.encode())]), make_snapshot()
    )
    [span] = exported.get_finished_spans()
    assert span.context.trace_id == HEADER_TRACE
    assert _trace_of(jobs[0]) == HEADER_TRACE


@pytest.mark.unit
def test_without_a_context_the_route_starts_a_trace_and_rejections_are_errors(
    exported: InMemorySpanExporter, make_snapshot: Callable[..., IntegrationSnapshot]
) -> None:
    _, result = _route(
        Record(b"not json", [("traceparent", HEADER_PARENT.encode())]), make_snapshot()
    )
    assert result.rejected == "not_json"
    [span] = exported.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["integrations.rejected"] == "not_json"
    # the dead letter keeps the original headers untouched
    assert [h for h in result.outgoing[0].headers if h[0] == "traceparent"] == [
        ("traceparent", HEADER_PARENT.encode())
    ]


@pytest.mark.integration
async def test_the_running_router_tags_jobs_only_while_tracing_is_on(
    kafka_kit: Any,
    start_router: Callable[[RouterSettings], AbstractAsyncContextManager[Router]],
    make_snapshot: Callable[..., IntegrationSnapshot],
    make_event: Callable[..., CommerceEvent],
    until: Callable[..., Awaitable[None]],
) -> None:
    hook = make_snapshot()
    await kafka_kit.put_integration(hook)
    untraced, traced = make_event(), make_event()
    async with start_router(kafka_kit.settings()) as router:
        await kafka_kit.emit(untraced)
        await until(lambda: router.stats.events_in == 1)
        exporter = InMemorySpanExporter()
        tracing.install(TracerProvider(), SimpleSpanProcessor(exporter))
        try:
            value, headers = encode_structured(traced)
            await kafka_kit.producer.send_and_wait(
                kafka_kit.topics.events,
                value,
                key=b"k",
                headers=[*headers, ("traceparent", HEADER_PARENT.encode())],
            )
            await until(lambda: router.stats.events_in == 2)
        finally:
            tracing.install(None)
    records = await kafka_kit.read_all(kafka_kit.topics.deliveries(Transport.WEBHOOK))
    by_event = {json.loads(r.value)["event"]["id"]: dict(r.headers) for r in records}
    assert "traceparent" not in by_event[untraced.id]
    assert _trace_of(list(by_event[traced.id].items())) == HEADER_TRACE
    [span] = exporter.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["integrations.event.id"] == traced.id
