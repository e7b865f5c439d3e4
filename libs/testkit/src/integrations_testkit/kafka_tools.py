"""Kafka chores of tests and benchmarks: unique topic names, publishing jobs, reading back,
deleting what a run created."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from integrations_common.attempts import AttemptLog
from integrations_common.jobs import DeliveryJob
from integrations_common.kafka import create_producer
from integrations_common.settings import KafkaSettings, TopicSettings


def unique(prefix: str) -> str:
    """A name no other run uses (a consumer group, a database, ...)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def prefixed_topics(prefix: str, *, partitions: int = 3) -> TopicSettings:
    """The platform's topics, each named `<prefix>.<role>` (`topic_prefix` answers `prefix`)."""
    return TopicSettings(
        events=f"{prefix}.events",
        events_dlq=f"{prefix}.events.dlq",
        config=f"{prefix}.config",
        deliveries_prefix=f"{prefix}.deliveries",
        logs=f"{prefix}.logs",
        partitions=partitions,
    )


def unique_topics(name: str, *, partitions: int = 3) -> TopicSettings:
    """Topic settings under a prefix no other run uses (delete them with `delete_topics`)."""
    return prefixed_topics(f"test-{name}-{uuid.uuid4().hex[:10]}", partitions=partitions)


def topic_prefix(topics: TopicSettings) -> str:
    """The prefix every topic of `prefixed_topics` starts with."""
    return topics.deliveries_prefix.removesuffix(".deliveries")


async def delete_topics(bootstrap_servers: str, prefix: str) -> list[str]:
    """Delete every topic whose name starts with `prefix`; answer their names."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if names:
            await admin.delete_topics(names)
    finally:
        await admin.close()
    return names


async def publish_records(
    bootstrap_servers: str, topic: str, records: Sequence[tuple[bytes, bytes]]
) -> None:
    """Write (key, value) records and wait for every ack."""
    producer = create_producer(KafkaSettings(bootstrap_servers=bootstrap_servers))
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key) for key, value in records]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def publish_jobs(bootstrap_servers: str, topic: str, jobs: Sequence[DeliveryJob]) -> None:
    """Write jobs as the router does (keyed by integration) and wait for every ack."""
    records = [(job.kafka_key, job.model_dump_json().encode()) for job in jobs]
    await publish_records(bootstrap_servers, topic, records)


async def publish_logs(bootstrap_servers: str, topic: str, logs: Sequence[AttemptLog]) -> None:
    """Write attempt logs as the senders do (keyed by job) and wait for every ack."""
    records = [(log.job_id.encode(), log.model_dump_json().encode()) for log in logs]
    await publish_records(bootstrap_servers, topic, records)


async def read_values(
    bootstrap_servers: str,
    topic: str,
    *,
    until: Callable[[list[bytes]], bool],
    timeout: float = 60,
) -> list[bytes]:
    """Read `topic` from the start until `until(values)` holds (TimeoutError after `timeout`)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap_servers, auto_offset_reset="earliest"
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        async with asyncio.timeout(timeout):
            while not until(values):
                batch = await consumer.getmany(timeout_ms=200)
                values.extend(r.value or b"" for records in batch.values() for r in records)
    finally:
        await consumer.stop()
    return values
