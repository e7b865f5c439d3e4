"""Tracing through the webhook sender, against real Kafka and a real receiver: the receiver gets
each attempt's `traceparent`, and the attempt, retry and dead-letter spans, the log records and
the tier records all stay in the trace of the job's record (in-memory SDK exporter)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from aiokafka import AIOKafkaConsumer
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from integrations_common.kafka import create_producer
from integrations_common.secret_box import generate_key
from integrations_common.settings import KafkaSettings, TopicSettings
from integrations_common.transports import Transport
from integrations_testkit.factories import make_webhook_job
from integrations_testkit.fixtures import TopicsFactory
from integrations_testkit.receiver import Received, Receiver
from integrations_testkit.senders import sender_config
from integrations_webhook_sender.app import build_worker
from integrations_webhook_sender.settings import WebhookSenderSettings

pytestmark = pytest.mark.integration

TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
PARENT = f"00-{TRACE_ID:032x}-00f067aa0ba902b7-01"


@pytest.fixture
def topics(make_topics: TopicsFactory) -> TopicSettings:
    return make_topics("tracing", partitions=1)


async def _read(kafka: str, topic: str, count: int) -> list[Any]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=kafka, auto_offset_reset="earliest")
    await consumer.start()
    records: list[Any] = []
    try:
        async with asyncio.timeout(60):
            while len(records) < count:
                batch = await consumer.getmany(timeout_ms=200)
                records.extend(r for rs in batch.values() for r in rs)
    finally:
        await consumer.stop()
    return records


def _span_id(headers: Any) -> int:
    return int(dict(headers)["traceparent"].decode().split("-")[2], 16)


async def test_one_trace_from_the_job_record_to_the_receiver_and_the_dead_letter(
    kafka_bootstrap_servers: str,
    topics: TopicSettings,
    receiver: Receiver,
    exported: InMemorySpanExporter,
) -> None:
    async def failing(request: web.Request, received: Received) -> web.Response:
        return web.Response(status=503)

    receiver.routes["/hook"] = failing
    key = generate_key()
    settings = WebhookSenderSettings.model_validate(
        sender_config(
            kafka=kafka_bootstrap_servers, topics=topics, box_key=key, retry_schedule="1s"
        )
    )
    job = make_webhook_job(receiver.url("/hook"))
    worker = build_worker(settings)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    producer = create_producer(KafkaSettings(bootstrap_servers=kafka_bootstrap_servers))
    await producer.start()
    try:
        await producer.send_and_wait(
            topics.deliveries(Transport.WEBHOOK),
            job.model_dump_json().encode(),
            key=job.kafka_key,
            headers=[("traceparent", PARENT.encode())],
        )
        logs = await _read(kafka_bootstrap_servers, topics.logs, 2)
        tier = await _read(
            kafka_bootstrap_servers, f"{topics.deliveries(Transport.WEBHOOK)}.retry.1s", 1
        )
        dead = await _read(kafka_bootstrap_servers, topics.dead_letters(Transport.WEBHOOK), 1)
    finally:
        await producer.stop()
        stop.set()
        async with asyncio.timeout(60):
            await running

    spans = exported.get_finished_spans()
    assert {s.context.trace_id for s in spans} == {TRACE_ID}
    attempts = sorted(
        (s for s in spans if s.name == "attempt"),
        key=lambda s: int((s.attributes or {})["integrations.attempt"]),  # type: ignore[arg-type]
    )
    [retry] = [s for s in spans if s.name == "retry"]
    [letter] = [s for s in spans if s.name == "dead letter"]
    assert [(s.attributes or {})["integrations.status_code"] for s in attempts] == [503, 503]
    assert attempts[0].parent is not None
    assert attempts[0].parent.span_id == 0x00F067AA0BA902B7
    assert retry.parent is not None
    assert retry.parent.span_id == attempts[0].context.span_id
    assert attempts[1].parent is not None
    assert attempts[1].parent.span_id == retry.context.span_id
    assert letter.parent is not None
    assert letter.parent.span_id == attempts[1].context.span_id
    # the receiver joins the trace as a child of each attempt
    sent = [r.headers["traceparent"] for r in receiver.requests]
    assert [int(v.split("-")[1], 16) for v in sent] == [TRACE_ID, TRACE_ID]
    assert [int(v.split("-")[2], 16) for v in sent] == [a.context.span_id for a in attempts]
    # Kafka hops: logs carry their attempt, the tier and dead-letter records their own span
    assert sorted(_span_id(r.headers) for r in logs) == sorted(a.context.span_id for a in attempts)
    assert _span_id(tier[0].headers) == retry.context.span_id
    assert _span_id(dead[0].headers) == letter.context.span_id
