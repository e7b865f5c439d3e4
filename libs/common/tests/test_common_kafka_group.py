"""Group consumers take their session timeout, heartbeats and rebalance timeout from the kafka
section, and the broker accepts the defaults (a 6 s session is its default minimum)."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from conftest import unique_name
from integrations_common.kafka import TopicSpec, create_consumer, ensure_topics
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
