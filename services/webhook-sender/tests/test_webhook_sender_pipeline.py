"""The whole sender against real Kafka and a real receiver: retries, Retry-After, 410, DLQ."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import uuid
import warnings
from collections import Counter, defaultdict
from typing import IO

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
    return make_topics("webhook", partitions=3)


def _settings(
    kafka: str, topics: TopicSettings, box_keys: str, **delivery: object
) -> WebhookSenderSettings:
    return WebhookSenderSettings.model_validate(
        sender_config(kafka=kafka, topics=topics, box_key=box_keys, delivery=delivery)
    )


async def test_retry_tiers_retry_after_gone_and_dead_letters(
    kafka_bootstrap_servers: str,
    topics: TopicSettings,
    receiver: Receiver,
    job_factory: JobFactory,
    box_key: str,
) -> None:
    async def flaky(request: web.Request, received: Received) -> web.Response:
        return web.Response(status=500 if received.json["attempt"] < 3 else 200)

    async def busy(request: web.Request, received: Received) -> web.Response:
        if received.json["attempt"] == 1:
            return web.Response(status=429, headers={"Retry-After": "2"})
        return web.Response(status=204)

    async def gone(request: web.Request, received: Received) -> web.Response:
        return web.Response(status=410, text="Gone")

    async def broken(request: web.Request, received: Received) -> web.Response:
        return web.Response(status=503, text="down")

    receiver.routes.update({"/flaky": flaky, "/busy": busy, "/gone": gone, "/broken": broken})
    jobs = {
        path: job_factory(receiver.url(path)) for path in ("/flaky", "/busy", "/gone", "/broken")
    }
    settings = _settings(kafka_bootstrap_servers, topics, box_key)
    worker = build_worker(settings)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        await publish_jobs(
            kafka_bootstrap_servers, topics.deliveries(Transport.WEBHOOK), list(jobs.values())
        )
        # flaky 3 + busy 2 + gone 1 + broken 3 attempts
        raw_logs = await read_values(
            kafka_bootstrap_servers, topics.logs, until=lambda v: len(v) >= 9
        )
        dead = await read_values(
            kafka_bootstrap_servers,
            topics.dead_letters(Transport.WEBHOOK),
            until=lambda v: len(v) >= 2,
        )
    finally:
        stop.set()
        await asyncio.wait_for(running, 60)

    logs: dict[str, list[AttemptLog]] = defaultdict(list)
    for value in raw_logs:
        log = AttemptLog.model_validate_json(value)
        logs[log.job_id].append(log)

    def history(path: str) -> list[tuple[int, JobStatus, int | None]]:
        entries = sorted(logs[jobs[path].job_id], key=lambda x: x.attempt)
        return [(x.attempt, x.job_status, x.status_code) for x in entries]

    assert history("/flaky") == [
        (1, JobStatus.RETRYING, 500),
        (2, JobStatus.RETRYING, 500),
        (3, JobStatus.SUCCEEDED, 200),
    ]
    assert history("/busy") == [(1, JobStatus.RETRYING, 429), (2, JobStatus.SUCCEEDED, 204)]
    assert history("/gone") == [(1, JobStatus.FAILED, 410)]
    assert history("/broken") == [
        (1, JobStatus.RETRYING, 503),
        (2, JobStatus.RETRYING, 503),
        (3, JobStatus.FAILED, 503),
    ]
    assert logs[jobs["/broken"].job_id][0].body == "down"
    flaky_attempts = [r.json["attempt"] for r in receiver.requests if r.path == "/flaky"]
    assert flaky_attempts == [1, 2, 3]
    ids = {r.headers["webhook-id"] for r in receiver.requests if r.path == "/flaky"}
    assert ids == {jobs["/flaky"].job_id}
    dead_ids = {DeliveryJob.model_validate_json(v).job_id for v in dead}
    assert dead_ids == {jobs["/gone"].job_id, jobs["/broken"].job_id}


async def _start_sender(
    env: dict[str, str], stderr: int | IO[bytes] = subprocess.DEVNULL
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "integrations_webhook_sender",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )


async def _stop_or_explain(process: asyncio.subprocess.Process, stderr: IO[bytes]) -> None:
    """SIGTERM, and if the stop is stuck, fail with the task stacks the runner logs."""
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), 120)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)  # the runner dumps every task's stack and exits
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()
        stderr.seek(0)
        tail = stderr.read()[-30_000:].decode(errors="replace")
        pytest.fail(f"the sender did not stop within 120 s of SIGTERM; its stderr ends:\n{tail}")


async def test_kill_9_under_load_then_restart_delivers_everything(
    kafka_bootstrap_servers: str,
    topics: TopicSettings,
    receiver: Receiver,
    job_factory: JobFactory,
    box_key: str,
) -> None:
    async def slowish(request: web.Request, received: Received) -> web.Response:
        await asyncio.sleep(0.02)
        return web.Response(status=204)

    receiver.routes["/load"] = slowish
    total = 600
    jobs = [
        job_factory(receiver.url("/load"), integration_id=f"int-{i % 24}") for i in range(total)
    ]
    settings = _settings(kafka_bootstrap_servers, topics, box_key)
    await ensure_topics(
        settings.kafka,
        delivery_topic_specs(
            topics=topics, transport=Transport.WEBHOOK, schedule=settings.delivery.schedule
        ),
    )
    await publish_jobs(kafka_bootstrap_servers, topics.deliveries(Transport.WEBHOOK), jobs)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBHOOK_SENDER_")}
    env.update(
        {
            "WEBHOOK_SENDER_KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap_servers,
            "WEBHOOK_SENDER_TOPICS__DELIVERIES_PREFIX": topics.deliveries_prefix,
            "WEBHOOK_SENDER_TOPICS__LOGS": topics.logs,
            "WEBHOOK_SENDER_TOPICS__PARTITIONS": str(topics.partitions),
            "WEBHOOK_SENDER_DELIVERY__CONSUMER_GROUP": f"test-kill-{uuid.uuid4().hex[:8]}",
            "WEBHOOK_SENDER_DELIVERY__RETRY_SCHEDULE": "1s,2s",
            "WEBHOOK_SENDER_DELIVERY__CONCURRENCY": "64",
            "WEBHOOK_SENDER_DELIVERY__BATCH_SIZE": "8",
            "WEBHOOK_SENDER_SSRF__ALLOW_CIDRS": "127.0.0.0/8",
            "WEBHOOK_SENDER_ENCRYPTION__KEYS": box_key,
            "WEBHOOK_SENDER_OPS__PORT": "0",
            "WEBHOOK_SENDER_LOG_LEVEL": "WARNING",
        }
    )
    first = await _start_sender(env)
    try:
        await receiver.wait_for(total // 4, timeout=90)
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
    delivered_before_kill = len(receiver.requests)
    expected = {job.job_id for job in jobs}
    with tempfile.TemporaryFile() as second_stderr:
        second = await _start_sender(env, second_stderr)
        try:
            async with asyncio.timeout(120), receiver.arrived:
                await receiver.arrived.wait_for(
                    lambda: expected <= {r.headers["webhook-id"] for r in receiver.requests}
                )
        finally:
            await _stop_or_explain(second, second_stderr)

    counts = Counter(r.headers["webhook-id"] for r in receiver.requests)
    duplicates = sum(n - 1 for n in counts.values())
    warnings.warn(
        f"kill -9 after {delivered_before_kill} of {total} deliveries: every job delivered, "
        f"{duplicates} duplicate deliveries ({len(receiver.requests)} requests in all)",
        stacklevel=1,
    )
    assert set(counts) == expected
    assert second.returncode == 0
