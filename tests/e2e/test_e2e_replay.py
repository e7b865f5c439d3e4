"""Replays, recoveries and dead letters, with a receiver that is down and then comes back up.

One platform (every service as a process, isolated topics and database) serves the module, with
a short retry schedule so that a job reaches the dead-letter topic within seconds.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from pymongo import MongoClient

from integrations_api.dlq.reading import read_all
from integrations_common.jobs import job_id_for
from integrations_common.settings import KafkaSettings
from tests.e2e.clients import api_client, cloud_event, send_event, webhook_attributes
from tests.e2e.harness import BIN, Platform, RunConfig, RunFactory
from tests.e2e.receivers import ReceivedRequest, WebhookReceiver

pytestmark = pytest.mark.e2e

STORE_ID = f"store-{uuid.uuid4().hex[:8]}"
ORG_ID = f"org-{uuid.uuid4().hex[:8]}"
RETRIES = "1s,2s"
ATTEMPTS_TO_DEAD_LETTER = 3
AUTO_DISABLE_JOBS = 5
WAIT_S = 60


@pytest.fixture(scope="module")
def module_run(new_run: RunFactory) -> RunConfig:
    return new_run(
        {
            "WEBHOOK_SENDER_DELIVERY__RETRY_SCHEDULE": RETRIES,
            "QUEUE_SENDER_DELIVERY__RETRY_SCHEDULE": RETRIES,
            # Shortened from 5 days and 10 jobs; the other tests fail fewer jobs than this.
            "LOG_WRITER_AUTO_DISABLE__FAILING_FOR_S": "2",
            "LOG_WRITER_AUTO_DISABLE__MIN_FAILED_JOBS": str(AUTO_DISABLE_JOBS),
        }
    )


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    """A receiver whose port is known, and which is down (stopped) when the test starts."""
    async with WebhookReceiver() as started:
        await started.stop()
        yield started


class Api:
    """A store's view of the public API."""

    def __init__(self, platform: Platform, run: RunConfig, *, store_id: str = STORE_ID) -> None:
        self.client = api_client(platform, run, store_id=store_id, org_id=ORG_ID)

    async def webhook(self, url: str) -> str:
        response = await self.client.post(
            "/integrations",
            json={
                "data": {
                    **webhook_attributes("replays", url, "replay-secret-key"),
                    "description": "e2e",
                    "enabled": True,
                }
            },
        )
        assert response.status_code == 200, response.text
        integration_id: str = response.json()["data"]["id"]
        await asyncio.sleep(3)  # the router applies a config change within about a second
        return integration_id

    async def job(self, integration_id: str, job_id: str) -> dict[str, Any] | None:
        response = await self.client.get(
            f"/integrations/{integration_id}/jobs", params={"page[limit]": 100}
        )
        assert response.status_code == 200, response.text
        found = [job for job in response.json()["data"] if job["id"] == job_id]
        return found[0] if found else None

    async def wait_job(
        self, integration_id: str, job_id: str, *, status: str, attempts: int
    ) -> dict[str, Any]:
        """Poll until the job has `status` after at least `attempts` attempts."""
        async with asyncio.timeout(WAIT_S):
            while True:
                job = await self.job(integration_id, job_id)
                if job and job["meta"]["status"] == status and job["meta"]["attempts"] >= attempts:
                    return job
                await asyncio.sleep(0.5)


@pytest.fixture
async def api(platform: Platform, module_run: RunConfig) -> AsyncIterator[Api]:
    client = Api(platform, module_run)
    yield client
    await client.client.aclose()


async def emit(producer: AIOKafkaProducer, run: RunConfig, integration_id: str) -> str:
    """An `order.paid` event of the module's store; answers the job id it makes."""
    event = cloud_event("order.paid", source="urn:e2e", org_id=ORG_ID, store_id=STORE_ID)
    await send_event(producer, run, event)
    return job_id_for(event["id"], integration_id)


async def dead(api: Api, integration_id: str, job_ids: list[str]) -> None:
    """Wait until every job failed for good (it is in the dead-letter topic)."""
    for job_id in job_ids:
        await api.wait_job(
            integration_id, job_id, status="failed", attempts=ATTEMPTS_TO_DEAD_LETTER
        )


def ids(requests: list[ReceivedRequest]) -> list[str]:
    return [r.headers["webhook-id"] for r in requests]


def restart_everything(platform: Platform) -> None:
    for service in platform.services.values():
        assert service.stop() == 0, service.tail()
    platform.start()


async def test_replay_one_job_after_every_service_restarted(
    platform: Platform,
    module_run: RunConfig,
    api: Api,
    producer: AIOKafkaProducer,
    receiver: WebhookReceiver,
) -> None:
    integration_id = await api.webhook(receiver.url)
    job_id = await emit(producer, module_run, integration_id)
    await dead(api, integration_id, [job_id])
    restart_everything(platform)
    await receiver.start(port=receiver.port)

    response = await api.client.post(f"/integrations/{integration_id}/jobs/{job_id}/replay")

    assert response.status_code == 202, response.text
    assert response.json()["data"] == {"type": "replay", "job_id": job_id, "attempt": 4}
    [request] = await receiver.wait_for(lambda r: len(r) >= 1)
    assert request.headers["webhook-id"] == job_id
    assert request.json()["attempt"] == ATTEMPTS_TO_DEAD_LETTER + 1
    await api.wait_job(integration_id, job_id, status="succeeded", attempts=4)
    logs = await api.client.get(f"/integrations/{integration_id}/jobs/{job_id}/logs")
    assert len(logs.json()["data"]) == 4

    # A succeeded job can be replayed too: the same webhook-id again, the next attempt.
    again = await api.client.post(f"/integrations/{integration_id}/jobs/{job_id}/replay")
    assert again.status_code == 202, again.text
    requests = await receiver.wait_for(lambda r: len(r) >= 2)
    assert ids(requests) == [job_id, job_id]
    assert requests[1].json()["attempt"] == 5


async def test_replay_answers_404_to_other_tenants_and_for_unknown_jobs(
    platform: Platform, module_run: RunConfig, api: Api, receiver: WebhookReceiver
) -> None:
    integration_id = await api.webhook(receiver.url)
    other = Api(platform, module_run, store_id=f"store-{uuid.uuid4().hex[:8]}")
    try:
        job_path = f"/integrations/{integration_id}/jobs/{uuid.uuid4()}/replay"
        for client, path in (
            (other, job_path),
            (api, job_path),
            (other, f"/integrations/{integration_id}/recover"),
        ):
            response = await client.client.post(path, json={"since": "2026-01-01T00:00:00Z"})
            assert response.status_code == 404, response.text
            assert response.json()["errors"][0]["status"] == 404
        bad = await api.client.post(
            f"/integrations/{integration_id}/recover", json={"since": "yesterday"}
        )
        assert bad.status_code == 422, bad.text
        backwards = await api.client.post(
            f"/integrations/{integration_id}/recover",
            json={"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        )
        assert backwards.status_code == 422, backwards.text
    finally:
        await other.client.aclose()


async def test_recover_since_delivers_every_failed_job_once(
    module_run: RunConfig, api: Api, producer: AIOKafkaProducer, receiver: WebhookReceiver
) -> None:
    integration_id = await api.webhook(receiver.url)
    before = await emit(producer, module_run, integration_id)
    await dead(api, integration_id, [before])
    since = datetime.now(UTC)
    failed = [await emit(producer, module_run, integration_id) for _ in range(3)]
    await dead(api, integration_id, failed)
    await receiver.start(port=receiver.port)

    path = f"/integrations/{integration_id}/recover"
    body = {"since": since.isoformat()}
    first, second = await asyncio.gather(
        api.client.post(path, json=body), api.client.post(path, json=body)
    )

    assert (first.status_code, second.status_code) == (202, 202), (first.text, second.text)
    assert first.json()["data"]["jobs"] + second.json()["data"]["jobs"] == len(failed)
    for job_id in failed:
        await api.wait_job(integration_id, job_id, status="succeeded", attempts=4)
    third = await api.client.post(path, json=body)
    assert third.json()["data"]["jobs"] == 0
    await asyncio.sleep(3)  # room for a duplicate to show up, if one had been sent
    assert sorted(ids(receiver.requests)) == sorted(failed)
    before_job = await api.job(integration_id, before)
    assert before_job is not None
    assert before_job["meta"]["status"] == "failed"


def dlq_tool(platform: Platform, *args: str) -> list[dict[str, Any]]:
    """Run `integrations-dlq` with the API's environment; answers its JSON lines."""
    env = {**os.environ, **platform.services["api"].env}
    done = subprocess.run(
        [str(BIN / "integrations-dlq"), *args],
        env=env,
        capture_output=True,
        check=True,
        timeout=120,
    )
    return [json.loads(line) for line in done.stdout.decode().splitlines() if line.strip()]


async def test_dead_letters_replayed_with_the_tool(
    platform: Platform,
    module_run: RunConfig,
    api: Api,
    producer: AIOKafkaProducer,
    receiver: WebhookReceiver,
) -> None:
    integration_id = await api.webhook(receiver.url)
    failed = [await emit(producer, module_run, integration_id) for _ in range(2)]
    await dead(api, integration_id, failed)
    await receiver.start(port=receiver.port)
    scope = ("--transport", "webhook", "--integration", integration_id)

    listed = await asyncio.to_thread(dlq_tool, platform, "list", *scope)
    assert sorted(line["job_id"] for line in listed) == sorted(failed)
    assert {line["attempt"] for line in listed} == {ATTEMPTS_TO_DEAD_LETTER + 1}
    assert {line["reason"] for line in listed} == {"exhausted"}

    [summary] = await asyncio.to_thread(dlq_tool, platform, "replay", *scope)

    assert summary["replayed"] == len(failed)
    requests = await receiver.wait_for(lambda r: len(r) >= len(failed))
    assert sorted(ids(requests)) == sorted(failed)
    for job_id in failed:
        await api.wait_job(integration_id, job_id, status="succeeded", attempts=4)


async def updates_of(run: RunConfig, integration_id: str) -> list[dict[str, Any]]:
    """The `integration.updated` events of an integration on the events topic, in order."""
    kafka = KafkaSettings(bootstrap_servers=run.kafka_bootstrap_servers)
    events = [json.loads(r.value) async for r in read_all(kafka, run.topics.events) if r.value]
    return [
        event
        for event in events
        if event["type"] == "integration.updated" and event["data"]["data"]["id"] == integration_id
    ]


async def snapshot_of(run: RunConfig, integration_id: str) -> dict[str, Any]:
    """The newest snapshot of an integration on the config topic."""
    kafka = KafkaSettings(bootstrap_servers=run.kafka_bootstrap_servers)
    found = [
        json.loads(r.value)
        async for r in read_all(kafka, run.topics.config)
        if r.key == integration_id.encode() and r.value
    ]
    newest: dict[str, Any] = found[-1]
    return newest


def failed_jobs_counted(run: RunConfig, integration_id: str) -> int | None:
    client: MongoClient[dict[str, Any]] = MongoClient(run.mongodb_uri, timeoutMS=10_000)
    try:
        doc = client[run.database]["integration_health"].find_one({"_id": integration_id})
    finally:
        client.close()
    return None if doc is None else int(doc["failed_jobs"])


async def test_an_endpoint_that_stays_dead_is_disabled_and_enabling_resets_the_count(
    module_run: RunConfig, api: Api, producer: AIOKafkaProducer, receiver: WebhookReceiver
) -> None:
    integration_id = await api.webhook(receiver.url)
    jobs = [await emit(producer, module_run, integration_id) for _ in range(AUTO_DISABLE_JOBS)]

    async with asyncio.timeout(WAIT_S):
        while True:
            integration = (await api.client.get(f"/integrations/{integration_id}")).json()["data"]
            if not integration["enabled"]:
                break
            await asyncio.sleep(0.5)

    reason = integration["meta"]["auto_disabled"]
    assert reason["failed_jobs"] >= AUTO_DISABLE_JOBS
    assert "failed" in reason["reason"]
    await dead(api, integration_id, jobs)
    [update] = await updates_of(module_run, integration_id)
    assert update["data"]["data"]["enabled"] is False
    assert update["data"]["data"]["meta"]["auto_disabled"]["failed_jobs"] >= AUTO_DISABLE_JOBS
    assert (await snapshot_of(module_run, integration_id))["enabled"] is False

    enabled = await api.client.put(
        f"/integrations/{integration_id}",
        json={"data": {"type": "integration", "enabled": True}},
    )
    assert enabled.status_code == 200, enabled.text
    assert "auto_disabled" not in enabled.json()["data"]["meta"]
    assert failed_jobs_counted(module_run, integration_id) is None
    await asyncio.sleep(3)  # the router applies a config change within about a second
    job_id = await emit(producer, module_run, integration_id)
    await dead(api, integration_id, [job_id])
    assert failed_jobs_counted(module_run, integration_id) == 1
    after = (await api.client.get(f"/integrations/{integration_id}")).json()["data"]
    assert after["enabled"] is True
