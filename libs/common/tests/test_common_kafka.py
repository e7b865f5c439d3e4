"""Kafka helpers against the real broker: idempotent topic creation, producer defaults."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from conftest import unique_name
from integrations_common.errors import ConfigurationError
from integrations_common.kafka import TopicSpec, create_producer, ensure_topics
from integrations_common.settings import KafkaSettings, TopicSettings
from integrations_common.topic_catalogue import platform_topics
from integrations_testkit.kafka_tools import unique_topics

pytestmark = pytest.mark.integration


def _topics() -> TopicSettings:
    return unique_topics("kafka", partitions=2)


async def test_ensure_topics_is_idempotent_and_compacts_config(
    kafka_bootstrap_servers: str,
) -> None:
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap_servers)
    topics = _topics()
    specs = platform_topics(topics)
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap_servers)
    await admin.start()
    try:
        first = await ensure_topics(kafka, specs)
        second = await ensure_topics(kafka, specs)
        described: dict[str, str] = {}
        # A topic's metadata reaches every broker component shortly after its creation: until
        # then describe_configs answers an error with no entries. Ask again (bounded).
        async with asyncio.timeout(30):
            while "cleanup.policy" not in described:
                [config] = await admin.describe_configs(
                    [ConfigResource(ConfigResourceType.TOPIC, topics.config)]
                )
                described = {
                    entry[0]: entry[1] for resource in config.resources for entry in resource[4]
                }
                if "cleanup.policy" not in described:
                    await asyncio.sleep(0.2)
        await admin.delete_topics([s.name for s in specs])
    finally:
        await admin.close()

    assert sorted(first) == sorted(s.name for s in specs)
    assert second == []
    assert described["cleanup.policy"] == "compact"


async def test_impossible_topic_is_a_configuration_error(kafka_bootstrap_servers: str) -> None:
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap_servers)
    [spec] = [s for s in platform_topics(_topics()) if s.name.endswith(".logs")]
    impossible = TopicSpec(spec.name, spec.partitions, replication_factor=3)
    with pytest.raises(ConfigurationError, match="cannot create topic"):
        await ensure_topics(kafka, [impossible])


async def test_producer_round_trip_on_created_topic(kafka_bootstrap_servers: str) -> None:
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap_servers)
    topic = unique_name("t")
    assert await ensure_topics(kafka, [TopicSpec(topic, 1, 1)]) == [topic]
    producer = create_producer(kafka)
    await producer.start()
    try:
        first = await producer.send_and_wait(topic, b"v1", key=b"k")
        second = await producer.send_and_wait(topic, b"v2", key=b"k")
    finally:
        await producer.stop()
    assert (first.topic, first.offset, second.offset) == (topic, 0, 1)
