"""The queue sender as wired: jobs from the deliveries topics reach SQS and STOMP, with logs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import SecretStr

from conftest import QueueFactory, StompEndpoint, unique_name
from integrations_common.attempts import AttemptLog, JobStatus
from integrations_common.delivery import DeliverySettings
from integrations_common.jobs import DeliveryJob
from integrations_common.secret_box import EncryptionSettings, SecretBox, generate_key
from integrations_common.settings import KafkaSettings, SsrfSettings, TopicSettings
from integrations_common.transports import Transport
from integrations_queue_sender.settings import QueueSenderSettings, SqsSettings, StompSettings
from integrations_queue_sender.worker import build_workers, run_workers
from integrations_testkit.factories import (
    make_event,
    make_job,
    sqs_integration,
    stomp_integration,
)
from integrations_testkit.kafka_tools import publish_jobs, read_values
from integrations_testkit.network import TcpProxy, closed_port
from integrations_testkit.stomp_subscriber import StompSubscriber

pytestmark = pytest.mark.integration

KEY = generate_key()


@pytest.fixture
def settings(kafka_bootstrap_servers: str, sqs_endpoint_url: str) -> QueueSenderSettings:
    return QueueSenderSettings(
        kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap_servers, client_id="qs-test"),
        topics=TopicSettings(
            deliveries_prefix=unique_name("qs-deliveries"),
            logs=unique_name("qs-logs"),
            partitions=2,
        ),
        encryption=EncryptionSettings(keys=SecretStr(KEY)),
        delivery=DeliverySettings(
            retry_schedule="1s,2s", consumer_group=unique_name("qs-group"), poll_timeout_ms=100
        ),
        sqs=SqsSettings(endpoint_url=sqs_endpoint_url),
        ssrf=SsrfSettings(allow_cidrs="127.0.0.0/8"),  # ElasticMQ and the broker on loopback
        stomp=StompSettings(connect_timeout_s=2, receipt_timeout_s=5, reconnect_backoff_s=0),
    )


@pytest.fixture
def box(settings: QueueSenderSettings) -> SecretBox:
    return SecretBox(settings.encryption)


@pytest.fixture
async def running(settings: QueueSenderSettings) -> AsyncIterator[None]:
    """The two workers, running until the test ends; their topics are deleted afterwards."""
    workers = build_workers(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(run_workers(stop, workers=workers))
    try:
        yield
    finally:
        stop.set()
        await task
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap_servers)
        await admin.start()
        try:
            names = {spec.name for worker in workers for spec in worker.topic_specs()}
            await admin.delete_topics(sorted(names))
        finally:
            await admin.close()


async def _produce(
    settings: QueueSenderSettings, transport: Transport, jobs: list[DeliveryJob]
) -> None:
    await publish_jobs(
        settings.kafka.bootstrap_servers, settings.topics.deliveries(transport), jobs
    )


async def _logs_until(
    settings: QueueSenderSettings, done: Any, timeout: float = 60.0
) -> list[AttemptLog]:
    def parsed(values: list[bytes]) -> list[AttemptLog]:
        return [AttemptLog.model_validate_json(value) for value in values]

    values = await read_values(
        settings.kafka.bootstrap_servers,
        settings.topics.logs,
        until=lambda values: done(parsed(values)),
        timeout=timeout,
    )
    return parsed(values)


def _all_succeeded(jobs: list[DeliveryJob]) -> Any:
    wanted = {job.job_id for job in jobs}
    return lambda logs: wanted <= {log.job_id for log in logs if log.succeeded}


@pytest.mark.usefixtures("running")
async def test_jobs_on_both_deliveries_topics_are_delivered_and_logged(
    *,
    settings: QueueSenderSettings,
    box: SecretBox,
    sqs_queue_factory: QueueFactory,
    sqs_client: Any,
    stomp_endpoint: StompEndpoint,
    destination: str,
    subscriber: StompSubscriber,
) -> None:
    url = await sqs_queue_factory("qs-worker")
    sqs = sqs_integration(box, url=url)
    stomp = stomp_integration(box, stomp_endpoint, destination)
    sqs_jobs = [make_job(make_event(), sqs) for _ in range(12)]
    stomp_jobs = [make_job(make_event(), stomp) for _ in range(5)]

    await _produce(settings, Transport.SQS, sqs_jobs)
    await _produce(settings, Transport.STOMP, stomp_jobs)
    logs = await _logs_until(settings, _all_succeeded(sqs_jobs + stomp_jobs))

    assert {log.transport for log in logs} == {Transport.SQS, Transport.STOMP}
    assert all(log.job_status is JobStatus.SUCCEEDED for log in logs)
    received: list[dict[str, Any]] = []
    while len(received) < len(sqs_jobs):
        response = await sqs_client.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        )
        received.extend(response.get("Messages", []))
    assert {json.loads(m["Body"])["id"] for m in received} == {j.event.id for j in sqs_jobs}
    frames = await asyncio.to_thread(subscriber.wait_for, len(stomp_jobs))
    assert {json.loads(f.body)["id"] for f in frames} == {j.event.id for j in stomp_jobs}


@pytest.mark.usefixtures("running")
async def test_a_broker_that_is_down_gets_its_message_after_the_retry_delay(
    settings: QueueSenderSettings,
    box: SecretBox,
    stomp_endpoint: StompEndpoint,
    destination: str,
    subscriber: StompSubscriber,
) -> None:
    proxy = TcpProxy(stomp_endpoint.host, stomp_endpoint.port, listen_port=closed_port())
    integration = stomp_integration(
        box, stomp_endpoint, destination, addresses=[f"stomp://127.0.0.1:{proxy.port}"]
    )
    job = make_job(make_event(), integration)

    await _produce(settings, Transport.STOMP, [job])
    first = await _logs_until(settings, lambda logs: len(logs) >= 1)
    await proxy.start()
    try:
        logs = await _logs_until(settings, _all_succeeded([job]))
    finally:
        await proxy.stop()

    assert first[0].attempt == 1
    assert not first[0].succeeded
    assert first[0].job_status is JobStatus.RETRYING
    assert first[0].error_detail == (
        f"could not connect to any STOMP address (stomp://127.0.0.1:{proxy.port})"
    )
    success = next(log for log in logs if log.succeeded)
    assert success.attempt == 2
    frames = await asyncio.to_thread(subscriber.wait_for, 1)
    assert [json.loads(f.body)["id"] for f in frames] == [job.event.id]
