"""A burst of attempt logs goes through the log writer into the real store, all of it, once.

The burst is larger than a batch and a batch is larger than a store command, so batching and
chunking both take part; redelivered records (a replay after a crash) are in the burst too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from integrations_common.attempts import AttemptLog
from integrations_common.store.log_documents import job_outcome
from integrations_common.tenancy import Tenant
from integrations_log_writer.settings import LogWriterSettings
from integrations_log_writer.worker import LogWriter
from integrations_testkit.factories import make_attempt_log
from integrations_testkit.kafka_tools import publish_logs
from integrations_testkit.places import Place

pytestmark = pytest.mark.integration

JOBS = 1_000
TENANT = {"org_id": "org-burst", "store_id": "store-burst"}


def burst() -> list[AttemptLog]:
    """Two attempts for every tenth job (a failure, then a success), one for the others."""
    base = datetime.now(UTC)
    return [
        make_attempt_log(
            f"integration-{n % 7}",
            f"event-{n}",
            number,
            ok=number == attempts,
            tenant=TENANT,
            base=base,
        )
        for n in range(JOBS)
        for attempts in [2 if n % 10 == 0 else 1]
        for number in range(1, attempts + 1)
    ]


@pytest.fixture
async def writer(place: Place) -> AsyncIterator[LogWriter]:
    settings = LogWriterSettings(
        **place.config(
            "burst-log-writer", batch_max_records=400, write_chunk_max=150, batch_timeout_ms=200
        )
    )
    started = LogWriter(settings)
    await started.start()
    try:
        yield started
    finally:
        await started.stop()


async def test_burst_of_logs_is_stored_whole_and_once(
    writer: LogWriter, kafka_bootstrap_servers: str
) -> None:
    logs = burst()
    redelivered = logs[:250]
    await publish_logs(kafka_bootstrap_servers, writer.settings.topics.logs, [*logs, *redelivered])

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
