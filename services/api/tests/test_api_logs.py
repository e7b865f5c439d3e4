"""The log writer stores attempt logs from Kafka; the API serves them, tenant-scoped."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaProducer
from pydantic import SecretStr

from integrations_api.log_writer.sink import write_attempts
from integrations_api.log_writer.worker import LogWriter, Readiness, run_log_writer
from integrations_api.log_writer_settings import LogWriterSettings
from integrations_api.logs.documents import JOBS_COLLECTION, LOGS_COLLECTION
from integrations_api.logs.store import LogStore
from integrations_api.mongo import create_client
from integrations_common.attempts import AttemptLog, JobStatus, log_id_for
from integrations_common.jobs import job_id_for
from integrations_common.settings import KafkaSettings, MongoSettings, Transport

from .conftest import RunningApi, auth, unique

pytestmark = pytest.mark.integration

STORE = {"store_id": "store-logs-1", "org_id": "org-logs-1"}
OTHER = {"store_id": "store-logs-2", "org_id": "org-logs-1"}


def attempt(
    integration_id: str, event_id: str, number: int, *, ok: bool, tenant: dict[str, str]
) -> AttemptLog:
    job_id = job_id_for(event_id, integration_id)
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=number)
    return AttemptLog(
        id=log_id_for(job_id, number),
        job_id=job_id,
        integration_id=integration_id,
        org_id=tenant["org_id"],
        store_id=tenant["store_id"],
        transport=Transport.WEBHOOK,
        event_id=event_id,
        event_type="order.paid",
        attempt=number,
        succeeded=ok,
        status_code=200 if ok else 404,
        body="OK" if ok else "Not Found",
        error_detail=None if ok else "Received a status code outside of 2xx range",
        job_status=JobStatus.SUCCEEDED if ok else JobStatus.RETRYING,
        event_time=start,
        routed_at=start,
        started_at=start,
        finished_at=start + timedelta(seconds=1),
    )


def ready(writer: LogWriter) -> bool:
    """What the log writer's `/readyz` answers (a call, so checks before and after compare)."""
    return writer.ready


@dataclass(frozen=True)
class Written:
    """What the log writer stored for this module."""

    integration_id: str
    logs: list[AttemptLog]


@pytest.fixture(scope="module")
async def written(running_api: RunningApi, kafka_bootstrap_servers: str) -> Written:
    """Attempt logs sent to Kafka and stored by a log writer."""
    integration_id = (await running_api.created_webhook(STORE))["id"]
    logs = [
        attempt(integration_id, "event-1", 2, ok=True, tenant=STORE),
        attempt(integration_id, "event-1", 1, ok=False, tenant=STORE),
        attempt(integration_id, "event-2", 1, ok=True, tenant=STORE),
        attempt("someone-elses", "event-3", 1, ok=True, tenant=OTHER),
    ]
    topics = running_api.settings.topics
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(topics.logs, b"not an attempt log", key=b"junk")
        for log in logs:
            await producer.send_and_wait(
                topics.logs, log.model_dump_json().encode(), key=log.job_id.encode()
            )
    finally:
        await producer.stop()

    settings = LogWriterSettings(
        kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap_servers),
        topics=topics,
        create_topics=False,
        mongodb=running_api.settings.mongodb,
        group_id=unique("api-test-log-writer"),
        batch_timeout_ms=200,
    )
    writer = LogWriter(settings)
    await writer.start()
    stop = asyncio.Event()
    try:
        seen = 0
        for _ in range(50):
            seen += await writer.run_once(stop)
            if seen >= len(logs) + 1:
                break
        assert seen == len(logs) + 1
        # Replaying the same logs changes nothing (idempotent upserts).
        await write_attempts(store=writer.store, logs=logs, chunk_size=2)
        assert await writer.store.logs.count_documents({}) == len(logs)
        assert await writer.store.jobs.count_documents({}) == 3
    finally:
        await writer.stop()
    return Written(integration_id=integration_id, logs=logs)


async def test_store_logs(running_api: RunningApi, written: Written) -> None:
    client = running_api.client
    integration_id = written.integration_id
    store_logs = await client.get("/v2/integrations/logs", headers=auth(**STORE))
    assert store_logs.status_code == 200
    body = store_logs.json()
    assert len(body["data"]) == 3
    assert {d["relationships"]["integration"]["data"]["id"] for d in body["data"]} == {
        integration_id
    }
    first = body["data"][0]
    assert first["type"] == "integration"
    assert first["relationships"]["job"]["data"]["type"] == "integration-job"
    assert body["links"] == {"first": "/v2/integrations/logs?page[offset]=0&page[limit]=25"}


async def test_jobs_and_job_logs(running_api: RunningApi, written: Written) -> None:
    client = running_api.client
    integration_id = written.integration_id
    jobs = await client.get(f"/v2/integrations/{integration_id}/jobs", headers=auth(**STORE))
    assert jobs.status_code == 200
    by_id = {j["id"]: j for j in jobs.json()["data"]}
    job_1 = job_id_for("event-1", integration_id)
    assert by_id[job_1]["type"] == "integration-job"
    assert by_id[job_1]["meta"]["status"] == "succeeded"
    assert by_id[job_1]["meta"]["attempts"] == 2

    job_logs = await client.get(
        f"/v2/integrations/{integration_id}/jobs/{job_1}/logs", headers=auth(**STORE)
    )
    assert job_logs.status_code == 200
    assert sorted(d["attempt"] for d in job_logs.json()["data"]) == [1, 2]
    failed = next(d for d in job_logs.json()["data"] if d["attempt"] == 1)
    assert failed["succeeded"] is False
    assert failed["status_code"] == 404
    assert failed["body"] == "Not Found"


async def test_log_pages(running_api: RunningApi, written: Written) -> None:
    client = running_api.client
    integration_id = written.integration_id
    paged = await client.get(
        f"/v2/integrations/{integration_id}/logs?page[limit]=2", headers=auth(**STORE)
    )
    assert len(paged.json()["data"]) == 2
    assert paged.json()["links"]["next"].endswith("page[offset]=2&page[limit]=2")
    last = await client.get(
        f"/v2/integrations/{integration_id}/logs?page[offset]=2&page[limit]=2",
        headers=auth(**STORE),
    )
    assert len(last.json()["data"]) == 1
    assert "next" not in last.json()["links"]
    assert last.json()["links"]["prev"].endswith("page[offset]=0&page[limit]=2")


async def test_other_tenant_sees_none_of_it(running_api: RunningApi, written: Written) -> None:
    client = running_api.client
    integration_id = written.integration_id
    job_1 = job_id_for("event-1", integration_id)
    for path in (
        f"/v2/integrations/{integration_id}/logs",
        f"/v2/integrations/{integration_id}/jobs",
        f"/v2/integrations/{integration_id}/jobs/{job_1}/logs",
    ):
        answer = await client.get(path, headers=auth(**OTHER))
        assert answer.status_code == 404, path
    other_logs = await client.get("/v2/integrations/logs", headers=auth(**OTHER))
    assert [d["id"] for d in other_logs.json()["data"]] == [written.logs[3].id]
    unknown_job = await client.get(
        f"/v2/integrations/{integration_id}/jobs/no-such-job/logs", headers=auth(**STORE)
    )
    assert unknown_job.status_code == 404


async def test_store_outage_commits_nothing_and_a_restart_rereads(
    running_api: RunningApi, kafka_bootstrap_servers: str
) -> None:
    """With MongoDB unreachable the batch is not committed; the next writer stores it."""
    topics = running_api.settings.topics
    log = attempt("outage-integration", "event-outage", 1, ok=True, tenant=OTHER)
    group = unique("api-test-log-writer-outage")
    settings = LogWriterSettings(
        kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap_servers),
        topics=topics,
        create_topics=False,
        mongodb=running_api.settings.mongodb,
        group_id=group,
        batch_timeout_ms=200,
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(topics.logs, log.model_dump_json().encode(), key=b"k")
    finally:
        await producer.stop()

    unreachable = create_client(
        MongoSettings(uri=SecretStr("mongodb://127.0.0.1:9"), server_selection_timeout_ms=200)
    )
    first = LogWriter(settings)
    assert not ready(first)
    await first.start()
    assert ready(first)
    first.store = LogStore(
        logs=unreachable["db"][LOGS_COLLECTION], jobs=unreachable["db"][JOBS_COLLECTION]
    )
    stop = asyncio.Event()
    stop.set()  # give up at the first failure, as on SIGTERM
    try:
        seen = 0
        for _ in range(50):
            seen += await first.run_once(stop)
            if seen:
                break
        assert seen > 0
        assert not ready(first)  # /readyz answers 503 while MongoDB cannot be written
    finally:
        await first.stop()
        await unreachable.close()

    second = LogWriter(settings)
    await second.start()
    try:
        for _ in range(50):
            await second.run_once(asyncio.Event())
            if await second.store.logs.find_one({"_id": log.id}):
                break
        assert await second.store.logs.find_one({"_id": log.id}) is not None
        assert second.ready
    finally:
        await second.stop()
    assert not second.ready


async def test_log_writer_is_ready_only_while_its_consumer_runs(
    running_api: RunningApi, kafka_bootstrap_servers: str
) -> None:
    """`/readyz` of the log writer: not ready before start-up (MongoDB, Kafka) nor after stop."""
    settings = LogWriterSettings(
        kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap_servers),
        topics=running_api.settings.topics,
        create_topics=False,
        mongodb=running_api.settings.mongodb,
        group_id=unique("api-test-log-writer-ready"),
        batch_timeout_ms=100,
    )
    readiness = Readiness()
    assert not readiness()
    stop = asyncio.Event()
    task = asyncio.create_task(run_log_writer(settings, stop, readiness=readiness))
    try:
        for _ in range(200):
            if readiness() or task.done():
                break
            await asyncio.sleep(0.05)
        assert readiness()
    finally:
        stop.set()
        await task
    assert not readiness()
