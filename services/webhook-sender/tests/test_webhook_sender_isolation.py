"""Isolation against real Kafka and real HTTP receivers: a bad endpoint delays nobody else.

Every topic has one partition, so the bad integration's jobs and the healthy ones share it: the
healthy jobs queue behind the bad ones in Kafka. No timing is asserted beyond "delivered while
the bad receiver still hangs" (it answers only when the test lets it) and "delivered before the
burst was done".
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

import pytest
from aiohttp import web

from integrations_common.attempts import AttemptLog, JobStatus
from integrations_common.delivery import delivery_topic_specs
from integrations_common.jobs import DeliveryJob
from integrations_common.kafka import ensure_topics
from integrations_common.settings import TopicSettings
from integrations_common.transports import Transport
from integrations_testkit.factories import JobFactory
from integrations_testkit.fixtures import TopicsFactory
from integrations_testkit.kafka_tools import publish_jobs, read_values
from integrations_testkit.receiver import Received, Receiver
from integrations_testkit.senders import sender_config
from integrations_webhook_sender.app import build_worker
from integrations_webhook_sender.settings import WebhookSenderSettings

pytestmark = pytest.mark.integration


@pytest.fixture
def topics(make_topics: TopicsFactory) -> TopicSettings:
    return make_topics("isolation", partitions=1)


def _settings(kafka: str, topics: TopicSettings, box_key: str) -> WebhookSenderSettings:
    delivery = {
        "integration_concurrency": 8,
        "concurrency": 64,
        "slow_after_s": 0.5,
        "batch_size": 4,
    }
    return WebhookSenderSettings.model_validate(
        sender_config(
            kafka=kafka, topics=topics, box_key=box_key, delivery=delivery, http={"timeout_s": 45}
        )
    )


async def test_hanging_endpoint_delays_nobody_and_its_jobs_are_logged_retried_dead_lettered(
    kafka_bootstrap_servers: str,
    topics: TopicSettings,
    receiver: Receiver,
    job_factory: JobFactory,
    box_key: str,
) -> None:
    released = asyncio.Event()

    async def hang(request: web.Request, received: Received) -> web.Response:
        await released.wait()  # hangs until the healthy deliveries are all in
        return web.Response(status=503, text="was hanging")

    receiver.routes["/hang"] = hang
    bad = [job_factory(receiver.url("/hang"), integration_id="bad") for _ in range(120)]
    healthy = [
        job_factory(receiver.url(f"/ok/{i % 5}"), integration_id=f"ok-{i % 5}") for i in range(60)
    ]
    worker = build_worker(_settings(kafka_bootstrap_servers, topics, box_key))
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        # the bad integration's jobs first: the healthy ones queue behind them, same partition
        await publish_jobs(kafka_bootstrap_servers, topics.deliveries(Transport.WEBHOOK), bad)
        await receiver.wait_for(8, timeout=60)  # the bad integration's limit is in flight
        await publish_jobs(kafka_bootstrap_servers, topics.deliveries(Transport.WEBHOOK), healthy)
        wanted = {job.job_id for job in healthy}
        async with asyncio.timeout(40), receiver.arrived:
            await receiver.arrived.wait_for(
                lambda: wanted <= {r.headers["webhook-id"] for r in receiver.requests}
            )
        hanging_now = sum(1 for r in receiver.requests if r.path == "/hang")
        assert not released.is_set()
        released.set()
        bad_ids = {job.job_id for job in bad}
        raw_dead = await read_values(
            kafka_bootstrap_servers,
            topics.dead_letters(Transport.WEBHOOK),
            until=lambda v: bad_ids <= {DeliveryJob.model_validate_json(x).job_id for x in v},
            timeout=90,
        )
        raw_logs = await read_values(
            kafka_bootstrap_servers,
            topics.logs,
            until=lambda v: len(v) >= 3 * len(bad) + len(healthy),
            timeout=90,
        )
    finally:
        released.set()
        stop.set()
        await asyncio.wait_for(running, 60)

    # while the healthy jobs went through, the bad integration held no more than its limit
    assert hanging_now <= 8
    logs: dict[str, list[AttemptLog]] = defaultdict(list)
    for value in raw_logs:
        log = AttemptLog.model_validate_json(value)
        logs[log.job_id].append(log)
    for job in healthy:
        assert [x.job_status for x in logs[job.job_id]] == [JobStatus.SUCCEEDED]
    for job in bad:
        history = sorted((x.attempt, x.job_status) for x in logs[job.job_id])
        assert history == [
            (1, JobStatus.RETRYING),
            (2, JobStatus.RETRYING),
            (3, JobStatus.FAILED),
        ], job.job_id
    assert {DeliveryJob.model_validate_json(v).job_id for v in raw_dead} == bad_ids


async def test_a_burst_of_one_integration_does_not_hold_back_another_on_its_partition(
    kafka_bootstrap_servers: str,
    topics: TopicSettings,
    receiver: Receiver,
    job_factory: JobFactory,
    box_key: str,
) -> None:
    async def steady(request: web.Request, received: Received) -> web.Response:
        await asyncio.sleep(0.05)
        return web.Response(status=204)

    receiver.routes["/burst"] = steady
    burst = [job_factory(receiver.url("/burst"), integration_id="burst") for _ in range(1500)]
    other = job_factory(receiver.url("/other"), integration_id="other")
    settings = _settings(kafka_bootstrap_servers, topics, box_key)
    await ensure_topics(
        settings.kafka,
        delivery_topic_specs(
            topics=topics, transport=Transport.WEBHOOK, schedule=settings.delivery.schedule
        ),
    )
    await publish_jobs(
        kafka_bootstrap_servers, topics.deliveries(Transport.WEBHOOK), [*burst, other]
    )
    worker = build_worker(settings)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        async with asyncio.timeout(60), receiver.arrived:
            await receiver.arrived.wait_for(
                lambda: any(r.path == "/other" for r in receiver.requests)
            )
        burst_before = sum(1 for r in receiver.requests if r.path == "/burst")
        wanted = {job.job_id for job in burst}
        async with asyncio.timeout(240), receiver.arrived:
            await receiver.arrived.wait_for(
                lambda: wanted <= {r.headers["webhook-id"] for r in receiver.requests}
            )
    finally:
        stop.set()
        await asyncio.wait_for(running, 60)
    # the other integration's job was behind 1,500 burst jobs in the partition, and went first
    assert burst_before < len(burst) // 2
