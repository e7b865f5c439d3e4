"""A `kill -9` of the queue sender under load loses nothing: every job arrives after a restart."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from conftest import QueueFactory, StompEndpoint, unique_name
from integrations_common.attempts import AttemptLog
from integrations_common.delivery import DeliverySettings, delivery_topic_specs
from integrations_common.jobs import DeliveryJob
from integrations_common.secret_box import EncryptionSettings, SecretBox, generate_key
from integrations_common.settings import TopicSettings
from integrations_common.transports import Transport
from integrations_testkit.factories import (
    make_event,
    make_job,
    sqs_integration,
    stomp_integration,
)
from integrations_testkit.stomp_subscriber import StompSubscriber

pytestmark = pytest.mark.e2e

SQS_JOBS = 1500
STOMP_JOBS = 300
KILL_AFTER_LOGS = 100


class Sender:
    """The real entry point in a child process."""

    def __init__(self, env: dict[str, str]) -> None:
        self._env = env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "integrations_queue_sender"],
            env=self._env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill(self, sig: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)


@pytest.fixture
async def topics(kafka_bootstrap_servers: str) -> AsyncIterator[TopicSettings]:
    prefix = unique_name("qs-kill")
    settings = TopicSettings(deliveries_prefix=prefix, logs=f"{prefix}.logs", partitions=2)
    yield settings
    schedule = DeliverySettings().schedule
    names = {
        spec.name
        for transport in (Transport.SQS, Transport.STOMP)
        for spec in delivery_topic_specs(topics=settings, transport=transport, schedule=schedule)
    }
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        await admin.delete_topics(sorted(names & existing))
    finally:
        await admin.close()


async def _produce(servers: str, topic: str, jobs: list[DeliveryJob]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=servers, linger_ms=5)
    await producer.start()
    try:
        sent = [
            await producer.send(topic, key=j.kafka_key, value=j.model_dump_json().encode())
            for j in jobs
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def _wait_for_logs(
    servers: str, topic: str, done: Any, timeout: float, *, until_idle: bool = False
) -> set[str]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=servers, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    succeeded: set[str] = set()
    count = 0
    try:
        async with asyncio.timeout(timeout):
            while not done(count, succeeded):
                fetched = await consumer.getmany(timeout_ms=1000)
                if until_idle and count and not fetched:
                    break
                for records in fetched.values():
                    for record in records:
                        log = AttemptLog.model_validate_json(record.value)
                        count += 1
                        if log.succeeded:
                            succeeded.add(log.job_id)
    finally:
        await consumer.stop()
    return succeeded


async def _sqs_event_ids(sqs_client: Any, url: str, expected: int) -> set[str]:
    seen: set[str] = set()
    empty = 0
    while len(seen) < expected and empty < 5:
        response = await sqs_client.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=300
        )
        messages = response.get("Messages", [])
        empty = 0 if messages else empty + 1
        seen.update(json.loads(m["Body"])["id"] for m in messages)
    return seen


async def test_kill_9_under_load_loses_nothing(
    *,
    kafka_bootstrap_servers: str,
    sqs_endpoint_url: str,
    sqs_queue_factory: QueueFactory,
    sqs_client: Any,
    stomp_endpoint: StompEndpoint,
    topics: TopicSettings,
    destination: str,
    subscriber: StompSubscriber,
) -> None:
    key = generate_key()
    box = SecretBox(EncryptionSettings.model_validate({"keys": key}))
    url = await sqs_queue_factory("qs-kill")
    sqs = sqs_integration(box, url=url)
    stomp = stomp_integration(box, stomp_endpoint, destination)
    sqs_jobs = [make_job(make_event(), sqs) for _ in range(SQS_JOBS)]
    stomp_jobs = [make_job(make_event(), stomp) for _ in range(STOMP_JOBS)]
    env = {
        **os.environ,
        "QUEUE_SENDER_KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap_servers,
        "QUEUE_SENDER_TOPICS__DELIVERIES_PREFIX": topics.deliveries_prefix,
        "QUEUE_SENDER_TOPICS__LOGS": topics.logs,
        "QUEUE_SENDER_TOPICS__PARTITIONS": "2",
        "QUEUE_SENDER_DELIVERY__CONSUMER_GROUP": unique_name("qs-kill"),
        "QUEUE_SENDER_ENCRYPTION__KEYS": key,
        "QUEUE_SENDER_SQS__ENDPOINT_URL": sqs_endpoint_url,
        "QUEUE_SENDER_SSRF__ALLOW_CIDRS": "127.0.0.0/8",
        "QUEUE_SENDER_OPS__PORT": "0",
        "QUEUE_SENDER_LOG_LEVEL": "WARNING",
    }
    sender = Sender(env)
    try:
        sender.start()
        await _produce(kafka_bootstrap_servers, topics.deliveries(Transport.SQS), sqs_jobs)
        await _produce(kafka_bootstrap_servers, topics.deliveries(Transport.STOMP), stomp_jobs)
        await _wait_for_logs(
            kafka_bootstrap_servers, topics.logs, lambda n, _: n >= KILL_AFTER_LOGS, 60
        )
        sender.kill(signal.SIGKILL)
        before_kill = await _wait_for_logs(
            kafka_bootstrap_servers, topics.logs, lambda _, __: False, 30, until_idle=True
        )
        sender.start()
        wanted = {j.job_id for j in sqs_jobs + stomp_jobs}
        succeeded = await _wait_for_logs(
            kafka_bootstrap_servers, topics.logs, lambda _, ok: wanted <= ok, 120
        )
    finally:
        sender.kill(signal.SIGTERM)
    assert wanted <= succeeded
    assert len(before_kill) < len(wanted), "the kill came after all the work: no test"
    assert await _sqs_event_ids(sqs_client, url, SQS_JOBS) == {j.event.id for j in sqs_jobs}
    frames = await asyncio.to_thread(subscriber.wait_for, STOMP_JOBS, 30.0)
    assert {json.loads(f.body)["id"] for f in frames} >= {j.event.id for j in stomp_jobs}
