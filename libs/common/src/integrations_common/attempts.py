"""The attempt log: one record per delivery attempt on `integrations.logs`.

It carries the spec's `IntegrationLog` fields plus the job's status after the attempt and the
timestamps that measure latency. The log writer turns these into the log and job documents the
API serves.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from integrations_common.events import CommerceEvent
from integrations_common.jobs import DeliveryJob, uuid5_text
from integrations_common.transports import Transport

MAX_LOGGED_BODY_BYTES = 64 * 1024


class JobStatus(StrEnum):
    """Where a job stands after an attempt."""

    SUCCEEDED = "succeeded"
    RETRYING = "retrying"
    FAILED = "failed"


def log_id_for(job_id: str, attempt: int) -> str:
    """The deterministic id of one attempt's log record."""
    return uuid5_text(f"{job_id}\x00attempt\x00{attempt}")


def truncate_body(body: bytes | str, limit: int = MAX_LOGGED_BODY_BYTES) -> str:
    """A response body as text, cut to `limit` bytes."""
    raw = body.encode() if isinstance(body, str) else body
    return raw[:limit].decode("utf-8", errors="replace")


class AttemptLog(BaseModel):
    """The outcome of one attempt."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    job_id: str
    integration_id: str
    org_id: str | None
    store_id: str | None
    transport: Transport
    event_id: str
    event_type: str
    attempt: int = Field(ge=1)
    succeeded: bool
    status_code: int | None = None
    body: str = ""
    error_detail: str | None = None
    job_status: JobStatus
    event_time: AwareDatetime
    routed_at: AwareDatetime
    started_at: AwareDatetime
    finished_at: AwareDatetime
    # The event itself, on the first attempt of a job only: the log writer keeps it with the job
    # (for the retention window) so that the job can be replayed. Never the integration: a
    # replay uses the integration's current configuration.
    event: CommerceEvent | None = Field(default=None, exclude_if=lambda event: event is None)

    @classmethod
    def for_job(
        cls,
        job: DeliveryJob,
        *,
        succeeded: bool,
        job_status: JobStatus,
        started_at: AwareDatetime,
        finished_at: AwareDatetime,
        status_code: int | None = None,
        body: bytes | str = b"",
        error_detail: str | None = None,
    ) -> AttemptLog:
        """The log record of `job`'s current attempt."""
        return cls(
            id=log_id_for(job.job_id, job.attempt),
            job_id=job.job_id,
            integration_id=job.integration.id,
            org_id=job.integration.org_id,
            store_id=job.integration.store_id,
            transport=job.integration.transport,
            event_id=job.event.id,
            event_type=job.event.type,
            attempt=job.attempt,
            succeeded=succeeded,
            status_code=status_code,
            body=truncate_body(body),
            error_detail=error_detail,
            job_status=job_status,
            event_time=job.event.time,
            routed_at=job.routed_at,
            started_at=started_at,
            finished_at=finished_at,
            event=job.event if job.attempt == 1 else None,
        )

    @property
    def latency_ms(self) -> float:
        """From the event's time to the end of this attempt."""
        return (self.finished_at - self.event_time).total_seconds() * 1000
