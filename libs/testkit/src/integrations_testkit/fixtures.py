"""Shared pytest fixtures (a plugin the root conftest.py loads): a webhook receiver, a secret
box and a job factory, unique topics (and a store place) deleted afterwards, and tracing into
memory."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import SecretStr

from integrations_common import tracing
from integrations_common.kafka import TopicSpec, ensure_topics
from integrations_common.secret_box import EncryptionSettings, SecretBox, generate_key
from integrations_common.settings import KafkaSettings, MongoSettings, TopicSettings
from integrations_common.store.mongo import create_client
from integrations_testkit.factories import JobFactory, make_webhook_job
from integrations_testkit.kafka_tools import delete_topics, topic_prefix, unique, unique_topics
from integrations_testkit.places import Place
from integrations_testkit.receiver import Receiver

TopicsFactory = Callable[..., TopicSettings]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A recording HTTP receiver on 127.0.0.1 (answers 204 unless a route says otherwise)."""
    async with Receiver() as server:
        yield server


@pytest.fixture(scope="module")
def box_key() -> str:
    """One encryption key per test module, as the platform's configured key."""
    return generate_key()


@pytest.fixture(scope="module")
def secret_box(box_key: str) -> SecretBox:
    """The box of `box_key`."""
    return SecretBox(EncryptionSettings(keys=SecretStr(box_key)))


@pytest.fixture
def job_factory(secret_box: SecretBox) -> JobFactory:
    """`make_webhook_job` with secrets encrypted by `secret_box`."""
    return functools.partial(make_webhook_job, box=secret_box)


@pytest.fixture
async def make_topics(kafka_bootstrap_servers: str) -> AsyncIterator[TopicsFactory]:
    """Unique topic settings (`make_topics("name", partitions=N)`); every topic under their
    prefixes is deleted afterwards."""
    made: list[TopicSettings] = []

    def make(name: str, *, partitions: int = 3) -> TopicSettings:
        topics = unique_topics(name, partitions=partitions)
        made.append(topics)
        return topics

    yield make
    for topics in made:
        await delete_topics(kafka_bootstrap_servers, topic_prefix(topics))


@pytest.fixture
async def place(kafka_bootstrap_servers: str, mongodb_uri: str) -> AsyncIterator[Place]:
    """Topics (the logs one created, 3 partitions) and a database of one test, deleted
    afterwards."""
    here = Place(
        kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap_servers),
        topics=unique_topics("store"),
        mongodb=MongoSettings(
            uri=SecretStr(mongodb_uri), database=unique("store").replace("-", "_")
        ),
    )
    await ensure_topics(here.kafka, [TopicSpec(here.topics.logs, 3, 1)])
    try:
        yield here
    finally:
        await delete_topics(kafka_bootstrap_servers, topic_prefix(here.topics))
        client = create_client(here.mongodb)
        await client.drop_database(here.mongodb.database)
        await client.close()


@pytest.fixture
def exported() -> Iterator[InMemorySpanExporter]:
    """Tracing on, every ended span kept in memory; off again afterwards."""
    exporter = InMemorySpanExporter()
    tracing.install(TracerProvider(), SimpleSpanProcessor(exporter))
    try:
        yield exporter
    finally:
        tracing.install(None)
