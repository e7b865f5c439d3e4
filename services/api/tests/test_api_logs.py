"""The log writer stores attempt logs from Kafka; the API serves them, tenant-scoped."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from integrations_common.attempts import AttemptLog
from integrations_common.jobs import job_id_for
from integrations_common.settings import KafkaSettings
from integrations_log_writer.settings import LogWriterSettings
from integrations_log_writer.sink import write_attempts
from integrations_log_writer.worker import LogWriter
from integrations_testkit.factories import make_attempt_log
from integrations_testkit.kafka_tools import publish_logs, publish_records, unique

from .conftest import RunningApi, auth

pytestmark = pytest.mark.integration

STORE = {"store_id": "store-logs-1", "org_id": "org-logs-1"}
OTHER = {"store_id": "store-logs-2", "org_id": "org-logs-1"}


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
        make_attempt_log(integration_id, "event-1", 2, ok=True, tenant=STORE),
        make_attempt_log(integration_id, "event-1", 1, ok=False, tenant=STORE),
        make_attempt_log(integration_id, "event-2", 1, ok=True, tenant=STORE),
        make_attempt_log("someone-elses", "event-3", 1, ok=True, tenant=OTHER),
    ]
    topics = running_api.settings.topics
    await publish_records(kafka_bootstrap_servers, topics.logs, [(b"junk", b"not an attempt log")])
    await publish_logs(kafka_bootstrap_servers, topics.logs, logs)

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
