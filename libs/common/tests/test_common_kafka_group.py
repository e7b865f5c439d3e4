"""Group consumers take their session timeout, heartbeats, rebalance timeout and instance id from
the kafka section, and the broker accepts the defaults (a 6 s session is its default minimum);
a static member takes back its partitions when restarted, and leaves at once when stopped."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import ValidationError

from conftest import unique_name
from integrations_common.errors import BrokerUnavailableError
from integrations_common.kafka import TopicSpec, create_consumer, ensure_topics
from integrations_common.kafka_group import leave_group, stop_consumer
from integrations_common.settings import KafkaSettings

pytestmark = pytest.mark.integration


def test_heartbeats_must_fit_three_times_in_the_session() -> None:
    with pytest.raises(ValidationError, match="a third of session_timeout_ms"):
        KafkaSettings(session_timeout_ms=6_000, heartbeat_interval_ms=3_000)


async def test_a_group_consumer_uses_the_sections_timeouts_and_overrides_win() -> None:
    kafka = KafkaSettings(session_timeout_ms=7_000, heartbeat_interval_ms=2_000)

    consumer = create_consumer(kafka, group_id="g")
    overridden = create_consumer(kafka, group_id="g", session_timeout_ms=9_000)

    assert consumer._session_timeout_ms == 7_000
    assert consumer._heartbeat_interval_ms == 2_000
    assert consumer._rebalance_timeout_ms == kafka.rebalance_timeout_ms
    assert overridden._session_timeout_ms == 9_000


async def test_the_broker_accepts_the_default_session(kafka_bootstrap_servers: str) -> None:
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap_servers)
    topic = unique_name("session")
    await ensure_topics(kafka, [TopicSpec(topic, partitions=1, replication_factor=1)])
    consumer = create_consumer(kafka, topic, group_id=unique_name("group"))
    async with asyncio.timeout(60):
        await consumer.start()
        try:
            while not consumer._coordinator.member_id:
                await consumer.getmany(timeout_ms=500)
            assert consumer._coordinator.generation > 0
        finally:
            await consumer.stop()


async def _joined(consumer: AIOKafkaConsumer) -> set[TopicPartition]:
    """Poll until the consumer is a member with partitions; answer them."""
    while not consumer.assignment():
        await consumer.getmany(timeout_ms=200)
    return set(consumer.assignment())


async def _settled(a: AIOKafkaConsumer, b: AIOKafkaConsumer, *, partitions: int) -> None:
    """Poll both until they share the partitions out in one generation."""
    while True:
        mine, theirs = set(a.assignment()), set(b.assignment())
        shared_out = bool(mine and theirs) and len(mine | theirs) == partitions
        same_generation = a._coordinator.generation == b._coordinator.generation
        if shared_out and not mine & theirs and same_generation:
            return
        await a.getmany(timeout_ms=100)
        await b.getmany(timeout_ms=100)


async def test_a_static_member_restarted_takes_back_its_partitions_without_a_rebalance(
    kafka_bootstrap_servers: str,
) -> None:
    topic, group = unique_name("static"), unique_name("group")
    first = KafkaSettings(bootstrap_servers=kafka_bootstrap_servers, group_instance_id="first")
    second = KafkaSettings(bootstrap_servers=kafka_bootstrap_servers, group_instance_id="second")
    await ensure_topics(first, [TopicSpec(topic, partitions=4, replication_factor=1)])
    dying = create_consumer(first, topic, group_id=group)
    staying = create_consumer(second, topic, group_id=group)
    async with asyncio.timeout(60):
        await dying.start()
        await _joined(dying)
        await staying.start()
        try:
            await _settled(dying, staying, partitions=4)
            held = set(dying.assignment())
            generation = staying._coordinator.generation
            await dying.stop()  # a static member sends no LeaveGroup: like a killed process

            restarted = create_consumer(first, topic, group_id=group)
            await restarted.start()
            try:
                assert await _joined(restarted) == held
                await staying.getmany(timeout_ms=500)
                assert staying._coordinator.generation == generation
            finally:
                await restarted.stop()
        finally:
            await staying.stop()


async def test_stopping_a_static_member_leaves_the_group_at_once(
    kafka_bootstrap_servers: str,
) -> None:
    topic, group = unique_name("leave"), unique_name("group")
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap_servers, group_instance_id="leaver")
    await ensure_topics(kafka, [TopicSpec(topic, partitions=1, replication_factor=1)])
    consumer = create_consumer(kafka, topic, group_id=group)
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap_servers)
    async with asyncio.timeout(60):
        await consumer.start()
        await _joined(consumer)
        await admin.start()
        try:
            assert await _member_count(admin, group) == 1
            await stop_consumer(consumer, kafka, group_id=group)
            assert await _member_count(admin, group) == 0
        finally:
            await admin.close()


async def _member_count(admin: AIOKafkaAdminClient, group: str) -> int:
    (description,) = await admin.describe_consumer_groups([group])
    (entry,) = description.groups
    return len(entry[5])


async def test_leaving_as_an_unknown_member_is_a_broker_error(
    kafka_bootstrap_servers: str,
) -> None:
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap_servers)
    with pytest.raises(BrokerUnavailableError, match="cannot leave group"):
        await leave_group(kafka, group_id=unique_name("group"), instance_id="nobody")


async def test_leaving_with_the_broker_away_is_a_broker_error_not_a_hang() -> None:
    kafka = KafkaSettings(bootstrap_servers="127.0.0.1:9")  # nothing listens there

    with pytest.raises(BrokerUnavailableError):
        await leave_group(kafka, group_id="any", instance_id="pod-0")


def test_a_blank_instance_id_means_dynamic_membership() -> None:
    assert KafkaSettings(group_instance_id="  ").group_instance_id is None
    assert KafkaSettings(group_instance_id=" pod-0 ").group_instance_id == "pod-0"
