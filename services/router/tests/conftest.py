"""Builders and Kafka helpers shared by the router's tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from integrations_common.cloudevents_codec import encode_binary, encode_structured
from integrations_common.events import CommerceEvent
from integrations_common.integrations import IntegrationSnapshot
from integrations_common.kafka import ensure_topics
from integrations_common.settings import KafkaSettings, TopicSettings
from integrations_common.topic_catalogue import platform_topics
from integrations_common.transports import Transport
from integrations_router.router import Router
from integrations_router.settings import RouterSettings
from integrations_testkit.factories import make_event as testkit_make_event
from integrations_testkit.factories import make_integration
from integrations_testkit.kafka_tools import delete_topics, topic_prefix, unique_topics


@pytest.fixture
def make_snapshot() -> Callable[..., IntegrationSnapshot]:
    return make_integration


@pytest.fixture
def make_event() -> Callable[..., CommerceEvent]:
    return testkit_make_event


class KafkaKit:
    """Produces events and snapshots to, and reads jobs from, one isolated set of topics."""

    def __init__(self, kafka: KafkaSettings, topics: TopicSettings) -> None:
        self.kafka = kafka
        self.topics = topics
        self.producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")

    def settings(self, **overrides: Any) -> RouterSettings:
        """Router settings for these topics, with its own consumer group and an ephemeral port."""
        values: dict[str, Any] = {
            "kafka": self.kafka,
            "topics": self.topics,
            "group_id": f"router-test-{self.topics.events}",
            "ops": {"port": 0},
            "create_topics": False,
        }
        values.update(overrides)
        return RouterSettings(**values)

    async def put_integration(self, integration: IntegrationSnapshot) -> None:
        await self.producer.send_and_wait(
            self.topics.config, integration.model_dump_json().encode(), key=integration.id.encode()
        )

    async def delete_integration(self, integration_id: str) -> None:
        await self.producer.send_and_wait(self.topics.config, None, key=integration_id.encode())

    async def emit(
        self, commerce_event: CommerceEvent, *, binary: bool = False, key: bytes = b"k"
    ) -> None:
        """One event (by default all on one key, hence one partition, in order)."""
        value, headers = (encode_binary if binary else encode_structured)(commerce_event)
        await self.producer.send_and_wait(self.topics.events, value, key=key, headers=headers)

    async def read_all(self, topic: str) -> list[Any]:
        """Every record of `topic` up to its current end."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.kafka.bootstrap_servers, enable_auto_commit=False
        )
        await consumer.start()
        try:
            partitions = [TopicPartition(topic, p) for p in range(self.topics.partitions)]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            records: list[Any] = []
            async with asyncio.timeout(30):
                while any([await consumer.position(tp) < ends[tp] for tp in partitions]):
                    batch = await consumer.getmany(timeout_ms=200)
                    records.extend(r for rs in batch.values() for r in rs)
            return records
        finally:
            await consumer.stop()

    async def all_jobs(self, transport: Transport) -> list[dict[str, Any]]:
        """Every job on a deliveries topic, decoded."""
        return [json.loads(r.value) for r in await self.read_all(self.topics.deliveries(transport))]

    async def emit_raw(
        self, value: bytes | None, headers: list[tuple[str, bytes]] | None = None
    ) -> None:
        await self.producer.send_and_wait(self.topics.events, value, key=b"raw", headers=headers)

    async def read(
        self, topic: str, *, until: Callable[[list[Any]], bool], timeout: float = 30.0
    ) -> list[Any]:
        """Every record of `topic` from the beginning, once `until(records)` holds."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.kafka.bootstrap_servers,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            partitions = [TopicPartition(topic, p) for p in range(self.topics.partitions)]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            records: list[Any] = []
            async with asyncio.timeout(timeout):
                while not until(records):
                    batch = await consumer.getmany(timeout_ms=200)
                    records.extend(r for rs in batch.values() for r in rs)
            return records
        finally:
            await consumer.stop()

    async def jobs(
        self,
        transport: Transport,
        *,
        until: Callable[[list[dict[str, Any]]], bool],
        timeout: float = 30.0,
    ) -> list[dict[str, Any]]:
        """Every job on a deliveries topic, decoded, once `until(jobs)` holds."""
        records = await self.read(
            self.topics.deliveries(transport),
            until=lambda rs: until([json.loads(r.value) for r in rs]),
            timeout=timeout,
        )
        return [json.loads(r.value) for r in records]


def isolated_topics(partitions: int = 2) -> TopicSettings:
    return unique_topics("router", partitions=partitions)


@pytest.fixture
async def kafka_kit(kafka_bootstrap_servers: str) -> AsyncIterator[KafkaKit]:
    """Isolated platform topics (deleted afterwards) and a producer for them."""
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap_servers, client_id="router-tests")
    topics = isolated_topics()
    specs = platform_topics(topics)
    await ensure_topics(kafka, specs)
    kit = KafkaKit(kafka, topics)
    await kit.producer.start()
    try:
        yield kit
    finally:
        await kit.producer.stop()
        await delete_topics(kafka.bootstrap_servers, topic_prefix(topics))


async def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll `condition` until it holds (a test fails by timeout, never by speed)."""
    async with asyncio.timeout(timeout):
        while True:
            if condition():
                return
            await asyncio.sleep(0.05)


@pytest.fixture
def until() -> Callable[..., Any]:
    return wait_until


@contextlib.asynccontextmanager
async def running_router(settings: RouterSettings) -> AsyncIterator[Router]:
    """A router running in this event loop until the block ends."""
    router = Router(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(router.run(stop))
    try:
        async with asyncio.timeout(30):
            while not router.ready:
                if task.done():
                    task.result()
                await asyncio.sleep(0.05)
        yield router
    finally:
        stop.set()
        await task


@pytest.fixture
def start_router() -> Callable[[RouterSettings], contextlib.AbstractAsyncContextManager[Router]]:
    return running_router
