"""A burst of attempt logs goes through the log writer into the real store, all of it, once.

The burst is larger than a batch and a batch is larger than a store command, so batching and
chunking both take part; redelivered records (a replay after a crash) are in the burst too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaProducer
from pydantic import SecretStr

from integrations_api.log_writer.worker import LogWriter
from integrations_api.log_writer_settings import LogWriterSettings
from integrations_api.logs.documents import job_outcome
from integrations_common.attempts import AttemptLog, JobStatus, log_id_for
from integrations_common.jobs import job_id_for
from integrations_common.kafka import TopicSpec, ensure_topics
from integrations_common.settings import KafkaSettings, MongoSettings, Transport
from integrations_common.tenancy import Tenant

from .conftest import drop_topics, unique, unique_topics

pytestmark = pytest.mark.integration

JOBS = 1_000
TENANT = {"org_id": "org-burst", "store_id": "store-burst"}


def burst() -> list[AttemptLog]:
    """Two attempts for every tenth job (a failure, then a success), one for the others."""
    base = datetime.now(UTC)
    logs = []
    for n in range(JOBS):
        event_id, integration_id = f"event-{n}", f"integration-{n % 7}"
        job_id = job_id_for(event_id, integration_id)
        attempts = 2 if n % 10 == 0 else 1
        for number in range(1, attempts + 1):
            last = number == attempts
            logs.append(
                AttemptLog(
                    id=log_id_for(job_id, number),
                    job_id=job_id,
                    integration_id=integration_id,
                    transport=Transport.WEBHOOK,
                    event_id=event_id,
                    event_type="order.paid",
                    attempt=number,
                    succeeded=last,
                    status_code=200 if last else 500,
                    body="ok" if last else "boom",
                    job_status=JobStatus.SUCCEEDED if last else JobStatus.RETRYING,
                    event_time=base,
                    routed_at=base,
                    started_at=base + timedelta(seconds=number),
                    finished_at=base + timedelta(seconds=number, milliseconds=5),
                    org_id=TENANT["org_id"],
                    store_id=TENANT["store_id"],
                )
            )
    return logs


@pytest.fixture
async def writer(kafka_bootstrap_servers: str, mongodb_uri: str) -> AsyncIterator[LogWriter]:
    topics = unique_topics()
    settings = LogWriterSettings(
        kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap_servers),
        topics=topics,
        create_topics=False,
        mongodb=MongoSettings(
            uri=SecretStr(mongodb_uri), database=unique("burst").replace("-", "_")
        ),
        group_id=unique("burst-log-writer"),
        batch_max_records=400,
        write_chunk_max=150,
        batch_timeout_ms=200,
    )
    await ensure_topics(settings.kafka, [TopicSpec(topics.logs, 3, 1)])
    started = LogWriter(settings)
    await started.start()
    try:
        yield started
    finally:
        await started.stop()
        await drop_topics(kafka_bootstrap_servers, topics)
        cleanup = LogWriter(settings)
        await cleanup._mongo.drop_database(settings.mongodb.database)
        await cleanup._mongo.close()


async def test_burst_of_logs_is_stored_whole_and_once(
    writer: LogWriter, kafka_bootstrap_servers: str
) -> None:
    logs = burst()
    redelivered = logs[:250]
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap_servers, linger_ms=5)
    await producer.start()
    try:
        for log in [*logs, *redelivered]:
            await producer.send(
                writer.settings.topics.logs, log.model_dump_json().encode(), key=log.job_id.encode()
            )
        await producer.flush()
    finally:
        await producer.stop()

    stop = asyncio.Event()
    consumed = 0
    async with asyncio.timeout(120):
        while consumed < len(logs) + len(redelivered):
            consumed += await writer.run_once(stop)

    stored = {doc["_id"]: doc async for doc in writer.store.logs.find({})}
    assert set(stored) == {log.id for log in logs}
    for log in logs:
        assert stored[log.id]["attempt"] == log.attempt
        assert stored[log.id]["status_code"] == log.status_code
    jobs = {doc["_id"]: doc async for doc in writer.store.jobs.find({})}
    assert len(jobs) == JOBS
    retried = [job for job in jobs.values() if job["attempts"] == 2]
    assert len(retried) == JOBS // 10
    assert all(job_outcome(job)["status"] == "succeeded" for job in jobs.values())
    assert {job["tenant_key"] for job in jobs.values()} == {Tenant(**TENANT).key}
