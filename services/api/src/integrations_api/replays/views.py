"""HTTP routes of the replay extensions (not in the spec; marked `x-extension`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Request

from integrations_api.auth.dependencies import TenantDep
from integrations_api.integrations.views import (
    CONFLICT_STATE,
    ERRORS,
    INVALID,
    JSON_BODY,
    NOT_FOUND,
    IntegrationId,
)
from integrations_api.replays import service
from integrations_api.replays.models import (
    RecoverRequest,
    Recovery,
    RecoveryDocument,
    Replay,
    ReplayDocument,
)
from integrations_api.state import services_of

router = APIRouter(prefix="/integrations", tags=["Integrations"])

JobId = Annotated[str, Path(description="The unique identifier of the job.")]


def replays_of(request: Request) -> service.Replays:
    """What the replay routes use, from the app's services."""
    services = services_of(request)
    return service.Replays(
        context=services.integrations, logs=services.logs, sender=services.job_sender
    )


ReplaysDep = Annotated[service.Replays, Depends(replays_of)]


@router.post(
    "/{integration_uuid}/jobs/{job_uuid}/replay",
    operation_id="ReplayIntegrationJob",
    summary="Replay a job",
    status_code=202,
    response_model=ReplayDocument,
    responses={**ERRORS, **NOT_FOUND, **CONFLICT_STATE},
)
async def replay_job(
    replays: ReplaysDep, tenant: TenantDep, integration_uuid: IntegrationId, job_uuid: JobId
) -> ReplayDocument:
    """Delivers the job again now, succeeded or failed: a new series of attempts with the
    integration's current configuration, the same job id (`webhook-id`), the next attempt
    number and new logs."""
    job = await service.replay_job(
        replays=replays, tenant=tenant, integration_id=integration_uuid, job_id=job_uuid
    )
    return ReplayDocument(data=Replay(job_id=job.job_id, attempt=job.attempt))


@router.post(
    "/{integration_uuid}/recover",
    operation_id="RecoverIntegrationJobs",
    summary="Recover the failed jobs of a window",
    status_code=202,
    response_model=RecoveryDocument,
    responses={**ERRORS, **NOT_FOUND, **INVALID, **CONFLICT_STATE},
    dependencies=JSON_BODY,
)
async def recover(
    replays: ReplaysDep,
    tenant: TenantDep,
    integration_uuid: IntegrationId,
    body: Annotated[RecoverRequest, Body()],
) -> RecoveryDocument:
    """Delivers again every job of the integration first routed in the window whose last
    attempt failed (it is in the dead-letter topic). A job is sent once per failure: calling
    again, during or after the first run, sends only jobs that failed again since."""
    recovery = await service.recover_window(
        replays=replays,
        tenant=tenant,
        integration_id=integration_uuid,
        since=body.since,
        until=body.until,
    )
    return RecoveryDocument(
        data=Recovery(
            integration_id=integration_uuid,
            since=recovery.since,
            until=recovery.until,
            jobs=recovery.jobs,
        )
    )
