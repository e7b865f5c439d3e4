"""Smoke tests that prove each local server is real: what goes in comes back out."""

from __future__ import annotations

import asyncio
import queue
from typing import Any

import pytest
import stomp
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pymongo.asynchronous.database import AsyncDatabase

from conftest import QueueFactory, StompEndpoint, TopicFactory, unique_name

pytestmark = pytest.mark.integration


async def test_kafka_produce_then_consume_returns_the_same_bytes(
    kafka_bootstrap_servers: str, kafka_topic_factory: TopicFactory
) -> None:
    topic = await kafka_topic_factory("smoke")
    value = b'{"specversion":"1.0","type":"order.paid","id":"\xc3\xa9v-1"}'
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap_servers, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        metadata = await producer.send_and_wait(
            topic, value, key=b"order-1", headers=[("ce_type", b"order.paid")]
        )
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka_bootstrap_servers, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), timeout=30)
    finally:
        await consumer.stop()

    assert (record.offset, record.partition) == (metadata.offset, metadata.partition)
    assert record.key == b"order-1"
    assert record.value == value
    assert list(record.headers) == [("ce_type", b"order.paid")]


async def test_mongodb_insert_then_find(mongo_database: AsyncDatabase[dict[str, Any]]) -> None:
    collection = mongo_database["integrations"]
    document = {"_id": "a7c2", "name": "Order paid", "observes": ["order.paid"], "enabled": True}
    await collection.insert_one(dict(document))

    found = await collection.find_one({"observes": "order.paid"})
    missing = await collection.find_one({"observes": "order.created"})

    assert found == document
    assert missing is None
    assert await collection.count_documents({}) == 1


async def test_sqs_create_send_receive_delete(
    sqs_client: Any, sqs_queue_factory: QueueFactory
) -> None:
    queue_url = await sqs_queue_factory("smoke")
    body = '{"specversion":"1.0","type":"order.paid"}'
    sent = await sqs_client.send_message(
        QueueUrl=queue_url,
        MessageBody=body,
        MessageAttributes={"type": {"DataType": "String", "StringValue": "order.paid"}},
    )

    received = await sqs_client.receive_message(
        QueueUrl=queue_url, WaitTimeSeconds=5, MessageAttributeNames=["All"]
    )
    [message] = received["Messages"]
    await sqs_client.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    after = await sqs_client.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)

    assert message["MessageId"] == sent["MessageId"]
    assert message["Body"] == body
    assert message["MessageAttributes"]["type"]["StringValue"] == "order.paid"
    assert after.get("Messages", []) == []


class _Collector(stomp.ConnectionListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.frames: queue.Queue[Any] = queue.Queue()

    def on_message(self, frame: Any) -> None:
        self.frames.put(frame)


def test_stomp_send_then_subscribe_receives(stomp_endpoint: StompEndpoint) -> None:
    destination = f"/queue/{unique_name('smoke')}"
    body = '{"specversion":"1.0","type":"order.paid"}'
    connection = stomp.Connection12([(stomp_endpoint.host, stomp_endpoint.port)])
    collector = _Collector()
    connection.set_listener("collector", collector)
    connection.connect(stomp_endpoint.login, stomp_endpoint.passcode, wait=True)
    try:
        connection.send(
            destination,
            body,
            content_type="application/cloudevents+json",
            headers={"persistent": "true", "ce-type": "order.paid"},
        )
        connection.subscribe(destination, id="smoke", ack="auto")
        frame = collector.frames.get(timeout=10)
    finally:
        connection.disconnect()

    assert frame.body == body
    assert frame.headers["content-type"] == "application/cloudevents+json"
    assert frame.headers["ce-type"] == "order.paid"
