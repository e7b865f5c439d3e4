"""Replay use cases: one job, or every failed job of a window. Keyword-only; domain errors only.

A replay is the job again, with the integration's current configuration (its snapshot, secrets
still ciphertext), its stored event, the same job id (so the same `webhook-id`) and the next
attempt number, sent to the deliveries topic: a new series of attempts with new logs.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from integrations_api.errors import ConflictError, NotFoundError, Problem, ValidationFailedError
from integrations_api.integrations.service import Context, get_integration
from integrations_api.logs.store import LogStore
from integrations_api.replays.sender import JobSender
from integrations_common.attempts import JobStatus
from integrations_common.events import CommerceEvent
from integrations_common.jobs import DeliveryJob, utc_now
from integrations_common.store.log_documents import job_outcome
from integrations_common.store.records import IntegrationRecord
from integrations_common.tenancy import Tenant

SEND_CHUNK = 500
STALE_CLAIM = timedelta(minutes=10)
"""A recovery's claim on a job whose attempt count has not moved since is taken as lost (the
call died between claiming and sending): a replay is attempted within seconds."""


@dataclass(frozen=True)
class Replays:
    """What a replay uses: the integrations, the logs of their jobs, and the jobs' sender."""

    context: Context
    logs: LogStore
    sender: JobSender


@dataclass(frozen=True)
class Recovery:
    """What a recovery did: the window and how many jobs it sent again."""

    since: datetime
    until: datetime
    jobs: int


def _replayable(record: IntegrationRecord) -> None:
    if not record.enabled:
        raise ConflictError("The integration is disabled; enable it before replaying its jobs.")


def replay_of(*, job: dict[str, Any], record: IntegrationRecord) -> DeliveryJob | None:
    """The replayed job of a stored job document, or None when its event was not kept (or
    does not read as an event)."""
    try:
        event = CommerceEvent.model_validate_json(job["event"])
    except (KeyError, TypeError, ValidationError):
        return None
    return DeliveryJob(
        job_id=job["_id"],
        event=event,
        integration=record.snapshot(),
        attempt=job["attempts"] + 1,
        routed_at=utc_now(),
        replay=True,
    )


async def replay_job(
    *, replays: Replays, tenant: Tenant, integration_id: str, job_id: str
) -> DeliveryJob:
    """Send one of the tenant's jobs again, whatever its status; answers the replayed job."""
    logs = replays.logs
    record = await get_integration(
        context=replays.context, tenant=tenant, integration_id=integration_id
    )
    job = await logs.find_job(tenant=tenant, integration_id=integration_id, job_id=job_id)
    if job is None:
        raise NotFoundError()
    _replayable(record)
    replay = replay_of(job=job, record=record)
    if replay is None:
        raise ConflictError("This job's event was not kept, so it cannot be replayed.")
    await replays.sender.send([replay], origin="api")
    await logs.mark_replayed(job_id=job_id, attempts=job["attempts"])
    return replay


def _failed(job: dict[str, Any]) -> bool:
    return bool(job_outcome(job)["status"] == JobStatus.FAILED.value)


async def _claim_and_send(
    *,
    logs: LogStore,
    sender: JobSender,
    record: IntegrationRecord,
    candidates: Sequence[dict[str, Any]],
) -> int:
    """Claim the candidates, send the ones this call claimed (releasing them if that fails);
    answers how many were sent."""
    claim = str(uuid.uuid4())
    jobs: list[DeliveryJob] = []
    try:
        claimed = await logs.claim_replays(
            jobs={job["_id"]: job["attempts"] for job in candidates},
            claim=claim,
            stale_after=STALE_CLAIM,
        )
        jobs = [
            replay for doc in claimed if (replay := replay_of(job=doc, record=record)) is not None
        ]
        if jobs:
            await sender.send(jobs, origin="recover")
    except BaseException:
        await logs.release_replays(job_ids=[job["_id"] for job in candidates], claim=claim)
        raise
    return len(jobs)


async def recover_window(
    *,
    replays: Replays,
    tenant: Tenant,
    integration_id: str,
    since: datetime,
    until: datetime | None,
) -> Recovery:
    """Send again every job of the integration first routed in [since, until) that failed for
    good (its last attempt failed and it went to the dead-letter topic).

    Each job is claimed first (`LogStore.claim_replays`, keyed by its attempt count), so a second
    recovery while this one runs, or after it, skips the jobs it sent; a job whose replay
    failed again is recovered again. Jobs whose event was not kept are skipped.
    """
    end = until or utc_now()
    if end <= since:
        raise ValidationFailedError([Problem("`until` must be later than `since`", "/until")])
    record = await get_integration(
        context=replays.context, tenant=tenant, integration_id=integration_id
    )
    _replayable(record)
    found = await replays.logs.jobs_created_between(
        tenant=tenant, integration_id=integration_id, since=since, until=end
    )
    failed = [job for job in found if _failed(job)]
    sent = 0
    for start in range(0, len(failed), SEND_CHUNK):
        sent += await _claim_and_send(
            logs=replays.logs,
            sender=replays.sender,
            record=record,
            candidates=failed[start : start + SEND_CHUNK],
        )
    return Recovery(since=since, until=end, jobs=sent)
