"""The producer kit against real Kafka: structured mode, batching, validation first."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from integrations_common.cloudevents_codec import InvalidEventError, decode_record
from integrations_common.events import CommerceEvent
from integrations_common.publisher import EventPublisher, event_key
from integrations_common.settings import KafkaSettings

pytestmark = pytest.mark.integration


def commerce_event(**overrides: Any) -> CommerceEvent:
    values: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "source": "/tests",
        "type": "order.paid",
        "time": datetime(2026, 11, 28, tzinfo=UTC),
        "orgid": "org-1",
        "storeid": "store-1",
        "data": {"data": {"type": "order", "id": "o-7"}},
    }
    values.update(overrides)
    return CommerceEvent(**values)


async def read_all(bootstrap: str, topic: str, count: int) -> list[Any]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        records: list[Any] = []
        while len(records) < count:
            batch = await consumer.getmany(timeout_ms=500)
            records.extend(r for rs in batch.values() for r in rs)
        return records
    finally:
        await consumer.stop()


@pytest.mark.timeout(60)
async def test_publish_and_publish_many(
    kafka_bootstrap_servers: str, kafka_topic_factory: Any
) -> None:
    topic = await kafka_topic_factory("publisher")
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap_servers)
    one = commerce_event()
    many = [commerce_event() for _ in range(50)]
    async with EventPublisher(kafka=settings, topic=topic) as publisher:
        await publisher.publish(one)
        assert await publisher.publish_many(many) == 50
    records = await read_all(kafka_bootstrap_servers, topic, 51)
    assert [decode_record(r.value, r.headers) for r in records] == [one, *many]
    assert dict(records[0].headers)["content-type"] == b"application/cloudevents+json"
    assert records[0].key == b"o-7"


async def test_invalid_events_are_refused_before_sending(
    kafka_bootstrap_servers: str, kafka_topic_factory: Any
) -> None:
    topic = await kafka_topic_factory("publisher")
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap_servers)
    async with EventPublisher(kafka=settings, topic=topic) as publisher:
        with pytest.raises(InvalidEventError):
            await publisher.publish(commerce_event(storeid=None))
        with pytest.raises(InvalidEventError):
            await publisher.publish_many([commerce_event(), commerce_event(type="nope.nope")])
        await publisher.publish(commerce_event(id="last"))
    records = await read_all(kafka_bootstrap_servers, topic, 1)
    assert [decode_record(r.value, r.headers).id for r in records] == ["last"]


@pytest.mark.unit
def test_key_is_the_resource_id_or_the_event_id() -> None:
    assert event_key(commerce_event()) == b"o-7"
    no_resource = commerce_event(id="e-1", data={"data": {}})
    assert event_key(no_resource) == b"e-1"
