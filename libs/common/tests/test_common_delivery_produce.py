"""How the delivery worker writes outcomes: `send_each` and its murmur2, against real Kafka."""

from __future__ import annotations

import os
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2

from integrations_common.kafka import TopicSpec, create_producer, ensure_topics
from integrations_common.kafka_send import OutgoingRecord, murmur2, send_each
from integrations_common.settings import KafkaSettings
from integrations_testkit.kafka_tools import delete_topics


@pytest.mark.unit
def test_murmur2_is_aiokafkas_for_every_length() -> None:
    """The partition of every record depends on it: it must equal the default partitioner's."""
    for length in range(80):
        for _ in range(25):
            data = os.urandom(length)
            assert murmur2(data) == aiokafka_murmur2(data)
    key = str(uuid.uuid4()).encode()
    assert murmur2(key) == aiokafka_murmur2(key)


@pytest.mark.integration
async def test_send_each_writes_where_the_default_partitioner_would(
    kafka_bootstrap_servers: str,
) -> None:
    prefix = f"test-produce-{uuid.uuid4().hex[:8]}"
    topic = f"{prefix}.logs"
    # the default request timeout (30 s): the unknown topic's record waits that long for its
    # metadata, but a new topic's "not leader" answers outlasted a 2 s one on a fresh CI broker
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap_servers)
    await ensure_topics(kafka, [TopicSpec(topic, partitions=5, replication_factor=1)])
    await _until_every_partition_takes_a_record(kafka_bootstrap_servers, topic, partitions=5)
    producer = create_producer(kafka)
    await producer.start()
    keys = [str(uuid.uuid4()).encode() for _ in range(40)]
    try:
        results = await send_each(
            producer,
            [
                *(OutgoingRecord(topic, key, b"v-" + key, [("h", b"1")]) for key in keys),
                OutgoingRecord(topic, None, b"no key", []),
                OutgoingRecord(f"{prefix}.missing", b"k", b"v", []),
            ],
        )
    finally:
        await producer.stop()
    assert results[:-1] == [None] * 41
    assert isinstance(results[-1], KafkaError)  # an unknown topic fails that record only
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka_bootstrap_servers, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        found: dict[bytes | None, tuple[int, bytes | None, list[tuple[str, bytes]]]] = {}
        while len(found) < 42:  # with the warm-up's key
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for r in records:
                    found[r.key] = (r.partition, r.value, list(r.headers))
    finally:
        await consumer.stop()
        await delete_topics(kafka_bootstrap_servers, prefix)
    partitions = list(range(5))
    for key in keys:
        assert found[key] == (
            DefaultPartitioner()(key, partitions, partitions),
            b"v-" + key,
            [("h", b"1")],
        )
    assert found[None][1] == b"no key"


async def _until_every_partition_takes_a_record(servers: str, topic: str, partitions: int) -> None:
    """A new topic's partitions answer "not leader" for a moment; the test's producer has a short
    timeout, so a record with key `warm-up` goes to each partition first (retried by Kafka's
    default timeout)."""
    producer = AIOKafkaProducer(bootstrap_servers=servers)
    await producer.start()
    try:
        for partition in range(partitions):
            await producer.send_and_wait(topic, b"warm-up", key=b"warm-up", partition=partition)
    finally:
        await producer.stop()
