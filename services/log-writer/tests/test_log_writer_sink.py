"""The writes of a batch are idempotent against the real store: a batch read again, or a job's
first attempt read again after its later ones, duplicates no log and corrupts no job."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from integrations_common.attempts import AttemptLog
from integrations_common.store.log_documents import LogCollections, job_outcome
from integrations_log_writer.sink import write_attempts
from integrations_testkit.factories import make_attempt_log

pytestmark = pytest.mark.integration

TENANT = {"org_id": "org-sink", "store_id": "store-sink"}
BASE = datetime(2026, 1, 1, tzinfo=UTC)


def job(event_id: str, count: int) -> list[AttemptLog]:
    """`count` attempts of one job, the last one succeeded."""
    return [
        make_attempt_log("integration-sink", event_id, n, ok=n == count, tenant=TENANT, base=BASE)
        for n in range(1, count + 1)
    ]


def aware(moment: datetime) -> datetime:
    """A stored datetime (read naive, in UTC, by the fixture's client) made aware."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def stored(store: LogCollections) -> tuple[dict[str, Any], dict[str, Any]]:
    logs = {doc["_id"]: doc async for doc in store.logs.find({})}
    jobs = {doc["_id"]: doc async for doc in store.jobs.find({})}
    return logs, jobs


async def test_batches_read_again_in_any_order_store_each_log_once_and_the_latest_job(
    mongo_database: AsyncDatabase[dict[str, Any]],
) -> None:
    store = LogCollections.of(mongo_database)
    a1, a2, a3 = job("event-a", 3)
    b1, b2 = job("event-b", 2)
    (c1,) = job("event-c", 1)
    batches: list[list[AttemptLog]] = [
        [a1, b1, c1],
        [a2, a3, b2],
        [a1, b1, b2],  # read again after a rebalance, the first attempts with later ones
        [a2],  # an older attempt than the job's latest
        [a1, a2, a3, b1, b2, c1],
    ]
    for batch in batches:
        await write_attempts(store=store, logs=batch, chunk_size=2)
        await write_attempts(store=store, logs=batch, chunk_size=2)

    logs, jobs = await stored(store)
    assert set(logs) == {log.id for log in (a1, a2, a3, b1, b2, c1)}
    assert {jobs[a1.job_id]["attempts"], jobs[b1.job_id]["attempts"]} == {3, 2}
    assert jobs[c1.job_id]["attempts"] == 1
    for first, last in ((a1, a3), (b1, b2), (c1, c1)):
        document = jobs[first.job_id]
        assert job_outcome(document)["status"] == "succeeded"
        assert aware(document["created_at"]) == first.routed_at
        assert aware(document["updated_at"]) == last.finished_at
        assert sorted(document["outcomes"]) == [f"a{n}" for n in range(1, last.attempt + 1)]


async def test_a_later_attempt_alone_creates_its_job(
    mongo_database: AsyncDatabase[dict[str, Any]],
) -> None:
    store = LogCollections.of(mongo_database)
    _, second = job("event-d", 2)
    await write_attempts(store=store, logs=[second], chunk_size=10)
    logs, jobs = await stored(store)
    assert set(logs) == {second.id}
    document = jobs[second.job_id]
    assert (document["attempts"], document["tenant_key"]) == (2, "store:store-sink")
    assert job_outcome(document)["status"] == "succeeded"
