"""Replays and recoveries through the API: what goes to the deliveries topic, and what is refused.

Jobs are stored by the log writer's own code (`write_attempts`) into the API's database; the
replayed jobs are read back from the module's real deliveries topic.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from integrations_api.logs.store import LogStore
from integrations_common.attempts import AttemptLog, JobStatus
from integrations_common.events import CommerceEvent
from integrations_common.jobs import DeliveryJob, job_id_for
from integrations_common.secret_box import SecretBox
from integrations_common.store.mongo import create_client
from integrations_testkit.factories import make_event, make_integration

from .conftest import RunningApi, auth, update_body

pytestmark = pytest.mark.integration

STORE = {"store_id": "store-replay-1", "org_id": "org-replay-1"}
OTHER = {"store_id": "store-replay-2", "org_id": "org-replay-1"}
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def event(event_id: str) -> CommerceEvent:
    """An order.paid event of the store whose data holds a key MongoDB cannot take as is."""
    return make_event(
        event_id,
        org_id=STORE["org_id"],
        store_id=STORE["store_id"],
        time=T0,
        source="urn:test",
        resource={"type": "order", "id": event_id, "$odd.key": 1},
    )


def attempts(
    integration_id: str, event_id: str, *, outcomes: list[JobStatus], routed_at: datetime
) -> list[AttemptLog]:
    """The logs of a job whose attempts ended with `outcomes` (the first carries its event)."""
    snapshot = make_integration(
        integration_id=integration_id,
        org_id=STORE["org_id"],
        store_id=STORE["store_id"],
        configuration={"url": "https://old.example.com/hook"},
    )
    job = DeliveryJob.route(event(event_id), snapshot, now=routed_at)
    logs = []
    for status in outcomes:
        logs.append(
            AttemptLog.for_job(
                job,
                succeeded=status is JobStatus.SUCCEEDED,
                job_status=status,
                started_at=routed_at,
                finished_at=routed_at + timedelta(seconds=job.attempt),
            )
        )
        job = job.next_attempt(not_before=routed_at, attempted_at=routed_at)
    return logs


async def test_replay_sends_the_job_with_the_current_configuration(
    running_api: RunningApi,
) -> None:
    integration_id = (await running_api.created_webhook(STORE))["id"]
    failed = [JobStatus.RETRYING, JobStatus.RETRYING, JobStatus.FAILED]
    event_id = str(uuid.uuid4())
    await running_api.store_attempts(
        attempts(integration_id, event_id, outcomes=failed, routed_at=T0)
    )
    new_url = "https://new.example.com/hook"
    changed = await running_api.client.put(
        f"/v2/integrations/{integration_id}",
        json=update_body(configuration={"url": new_url}),
        headers=auth(**STORE),
    )
    assert changed.status_code == 200, changed.text
    job_id = job_id_for(event_id, integration_id)

    response = await running_api.client.post(
        f"/v2/integrations/{integration_id}/jobs/{job_id}/replay", headers=auth(**STORE)
    )

    assert response.status_code == 202, response.text
    assert response.json() == {"data": {"type": "replay", "job_id": job_id, "attempt": 4}}
    [job] = await running_api.sent_jobs(integration_id, 1)
    assert (job.job_id, job.attempt, job.replay, job.not_before) == (job_id, 4, True, None)
    assert job.event == event(event_id)
    assert job.integration.configuration["url"] == new_url
    secret = job.integration.configuration["secret_key"]
    assert secret != "secret_squirrel_1234"
    box = SecretBox(running_api.settings.encryption)
    assert box.decrypt(secret) == "secret_squirrel_1234"


async def test_replay_refusals(running_api: RunningApi) -> None:
    integration_id = (await running_api.created_webhook(STORE))["id"]
    event_id = str(uuid.uuid4())
    logs = attempts(integration_id, event_id, outcomes=[JobStatus.FAILED], routed_at=T0)
    without_event = [log.model_copy(update={"event": None}) for log in logs]
    await running_api.store_attempts(without_event)
    job_path = f"/v2/integrations/{integration_id}/jobs/{job_id_for(event_id, integration_id)}"

    no_event = await running_api.client.post(f"{job_path}/replay", headers=auth(**STORE))
    other = await running_api.client.post(f"{job_path}/replay", headers=auth(**OTHER))
    unknown = await running_api.client.post(
        f"/v2/integrations/{integration_id}/jobs/{uuid.uuid4()}/replay", headers=auth(**STORE)
    )

    assert no_event.status_code == 409, no_event.text
    assert no_event.json()["errors"][0]["status"] == 409
    assert (other.status_code, unknown.status_code) == (404, 404)
    disabled = await running_api.client.put(
        f"/v2/integrations/{integration_id}",
        json=update_body(enabled=False),
        headers=auth(**STORE),
    )
    assert disabled.status_code == 200
    refused = await running_api.client.post(
        f"/v2/integrations/{integration_id}/recover",
        json={"since": T0.isoformat()},
        headers=auth(**STORE),
    )
    assert refused.status_code == 409, refused.text


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"since": "2026-03-01T00:00:00"},
        {"since": "not a time"},
        {"since": "2026-03-01T00:00:00Z", "until": "2026-02-01T00:00:00Z"},
        {"since": "2026-03-01T00:00:00Z", "extra": 1},
    ],
)
async def test_recover_rejects_bad_windows(running_api: RunningApi, body: dict[str, Any]) -> None:
    integration_id = (await running_api.created_webhook(STORE))["id"]
    response = await running_api.client.post(
        f"/v2/integrations/{integration_id}/recover", json=body, headers=auth(**STORE)
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["status"] == 422


async def test_recover_sends_each_failed_job_of_the_window_once(
    running_api: RunningApi,
) -> None:
    integration_id = (await running_api.created_webhook(STORE))["id"]
    inside = T0 + timedelta(hours=1)
    failed_ids = [str(uuid.uuid4()) for _ in range(3)]
    logs = [
        log
        for event_id in failed_ids
        for log in attempts(
            integration_id,
            event_id,
            outcomes=[JobStatus.RETRYING, JobStatus.FAILED],
            routed_at=inside,
        )
    ]
    succeeded, retrying, before = (str(uuid.uuid4()) for _ in range(3))
    logs += attempts(integration_id, succeeded, outcomes=[JobStatus.SUCCEEDED], routed_at=inside)
    logs += attempts(integration_id, retrying, outcomes=[JobStatus.RETRYING], routed_at=inside)
    logs += attempts(integration_id, before, outcomes=[JobStatus.FAILED], routed_at=T0)
    await running_api.store_attempts(logs)
    path = f"/v2/integrations/{integration_id}/recover"
    body = {"since": (T0 + timedelta(minutes=30)).isoformat()}

    answers = await asyncio.gather(
        *(running_api.client.post(path, json=body, headers=auth(**STORE)) for _ in range(3))
    )

    assert [a.status_code for a in answers] == [202, 202, 202]
    assert sum(a.json()["data"]["jobs"] for a in answers) == len(failed_ids)
    recovered = await running_api.sent_jobs(integration_id, len(failed_ids))
    assert sorted(j.job_id for j in recovered) == sorted(
        job_id_for(e, integration_id) for e in failed_ids
    )
    assert {j.attempt for j in recovered} == {3}
    # The recovered jobs failed again: a new recovery sends them again, once.
    again = [
        log
        for event_id in failed_ids
        for log in attempts(
            integration_id,
            event_id,
            outcomes=[JobStatus.RETRYING, JobStatus.FAILED, JobStatus.FAILED],
            routed_at=inside,
        )
    ]
    await running_api.store_attempts(again)
    second = await running_api.client.post(path, json=body, headers=auth(**STORE))
    assert second.json()["data"]["jobs"] == len(failed_ids)


async def test_a_claim_is_taken_once_unless_it_went_stale(running_api: RunningApi) -> None:
    integration_id = (await running_api.created_webhook(STORE))["id"]
    event_id = str(uuid.uuid4())
    await running_api.store_attempts(
        attempts(integration_id, event_id, outcomes=[JobStatus.FAILED], routed_at=T0)
    )
    job = {job_id_for(event_id, integration_id): 1}
    client = create_client(running_api.settings.mongodb)
    database = client[running_api.settings.mongodb.database]
    store = LogStore.of(database)
    hour = timedelta(hours=1)
    try:
        first = await store.claim_replays(jobs=job, claim="first", stale_after=hour)
        second = await store.claim_replays(jobs=job, claim="second", stale_after=hour)
        await asyncio.sleep(0.01)
        stale = await store.claim_replays(jobs=job, claim="stale", stale_after=timedelta(0))
    finally:
        await client.close()
    assert [doc["_id"] for doc in first] == list(job)
    assert second == []
    assert [doc["replay_claim"] for doc in stale] == ["stale"]
