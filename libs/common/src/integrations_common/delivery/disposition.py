"""What happens after an attempt: the log record, and the job's next topic (tier or dead letter).

Pure functions, so the retry rules are testable without Kafka.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from integrations_common.attempts import AttemptLog, JobStatus
from integrations_common.delivery.schedule import RetrySchedule
from integrations_common.delivery.transport import DeliveryOutcome, Verdict
from integrations_common.jobs import DeliveryJob
from integrations_common.settings import DEAD_LETTER_SUFFIX

DEAD_LETTER_REASON_HEADER = "x-dead-letter-reason"
JOB_STATUS_HEADER = "x-job-status"
ERROR_DETAIL_HEADER = "x-error-detail"


class DeadLetterReason(StrEnum):
    """Why a job ended on the dead-letter topic."""

    EXHAUSTED = "exhausted"
    GAVE_UP = "gave_up"
    UNREADABLE = "unreadable"


@dataclass(frozen=True)
class Disposition:
    """Everything to write to Kafka for one attempt before its offset may be committed."""

    log: AttemptLog
    next_topic: str | None = None
    next_job: DeliveryJob | None = None
    dead_letter: DeadLetterReason | None = None

    @property
    def headers(self) -> list[tuple[str, bytes]]:
        """Kafka headers for the next-topic record."""
        headers = [(JOB_STATUS_HEADER, self.log.job_status.value.encode())]
        if self.dead_letter is not None:
            headers.append((DEAD_LETTER_REASON_HEADER, self.dead_letter.value.encode()))
            if self.log.error_detail:
                headers.append((ERROR_DETAIL_HEADER, self.log.error_detail.encode()[:1024]))
        return headers


def decide(
    *,
    job: DeliveryJob,
    outcome: DeliveryOutcome,
    source_tier: int | None,
    schedule: RetrySchedule,
    deliveries_topic: str,
    started_at: datetime,
    finished_at: datetime,
    max_retry_after: float,
) -> Disposition:
    """The log record and next step of `job` after an attempt that ended with `outcome`."""

    def log(status: JobStatus) -> AttemptLog:
        return AttemptLog.for_job(
            job,
            succeeded=outcome.succeeded,
            job_status=status,
            started_at=outcome.started_at or started_at,
            finished_at=outcome.finished_at or finished_at,
            status_code=outcome.status_code,
            body=outcome.body,
            error_detail=outcome.error_detail,
        )

    verdict = outcome.verdict
    if verdict is Verdict.DELIVERED:
        return Disposition(log=log(JobStatus.SUCCEEDED))
    attempted_at = outcome.started_at or started_at

    def dead_letter(reason: DeadLetterReason) -> Disposition:
        return _dead_letter(
            job,
            log=log(JobStatus.FAILED),
            reason=reason,
            deliveries_topic=deliveries_topic,
            finished_at=finished_at,
            attempted_at=attempted_at,
        )

    if verdict is Verdict.GIVE_UP:
        return dead_letter(DeadLetterReason.GAVE_UP)
    # RETRY and SKIPPED (nothing was sent: an open circuit, a blocked address) take the next tier
    retry_after = None
    if outcome.retry_after is not None:
        retry_after = max(0.0, min(outcome.retry_after, max_retry_after))
    tier = schedule.next_tier(current=source_tier, retry_after=retry_after)
    if tier is None:
        return dead_letter(DeadLetterReason.EXHAUSTED)
    delay = max(float(schedule.delays[tier]), retry_after or 0.0)
    next_job = job.next_attempt(
        not_before=finished_at + timedelta(seconds=delay), attempted_at=attempted_at
    )
    return Disposition(
        log=log(JobStatus.RETRYING),
        next_topic=schedule.tier_topic(deliveries_topic, tier),
        next_job=next_job,
    )


def dead_letter_topic(deliveries_topic: str) -> str:
    """The dead-letter topic of a deliveries topic."""
    return f"{deliveries_topic}{DEAD_LETTER_SUFFIX}"


def _dead_letter(
    job: DeliveryJob,
    *,
    log: AttemptLog,
    reason: DeadLetterReason,
    deliveries_topic: str,
    finished_at: datetime,
    attempted_at: datetime,
) -> Disposition:
    return Disposition(
        log=log,
        next_topic=dead_letter_topic(deliveries_topic),
        next_job=job.next_attempt(not_before=finished_at, attempted_at=attempted_at),
        dead_letter=reason,
    )
