"""What follows an attempt: logs, tiers, dead letters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from integrations_common.attempts import JobStatus
from integrations_common.delivery import (
    DeadLetterReason,
    DeliveryOutcome,
    Disposition,
    RetrySchedule,
    Verdict,
    decide,
    failed,
)
from integrations_common.errors import PermanentError, RetryableError
from integrations_common.jobs import DeliveryJob
from integrations_testkit.factories import make_event, make_integration, make_job

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SCHEDULE = RetrySchedule.parse("5s,30s")


def _job() -> DeliveryJob:
    return make_job(make_event("ev-1", time=T0), make_integration(integration_id="int-1"), now=T0)


def _decide(outcome: DeliveryOutcome, tier: int | None = None) -> Disposition:
    return decide(
        job=_job(),
        outcome=outcome,
        source_tier=tier,
        schedule=SCHEDULE,
        deliveries_topic="d.webhook",
        started_at=T0,
        finished_at=T0 + timedelta(seconds=1),
        max_retry_after=3600,
    )


def test_success_is_only_a_log() -> None:
    result = _decide(DeliveryOutcome(succeeded=True, status_code=204))
    assert result.log.job_status == JobStatus.SUCCEEDED
    assert result.next_topic is None


def test_failure_goes_to_the_next_tier() -> None:
    result = _decide(DeliveryOutcome(succeeded=False, status_code=500), tier=0)
    assert result.next_topic == "d.webhook.retry.30s"
    assert result.next_job is not None
    assert result.next_job.attempt == 2
    assert result.next_job.not_before == T0 + timedelta(seconds=31)
    assert result.log.job_status == JobStatus.RETRYING


def test_retry_after_sets_tier_and_due_time() -> None:
    result = _decide(DeliveryOutcome(succeeded=False, status_code=503, retry_after=120))
    assert result.next_topic == "d.webhook.retry.30s"
    assert result.next_job is not None
    assert result.next_job.not_before == T0 + timedelta(seconds=121)


def test_exhausted_and_gone_are_dead_letters() -> None:
    exhausted = _decide(DeliveryOutcome(succeeded=False), tier=1)
    gone = _decide(DeliveryOutcome(succeeded=False, status_code=410, give_up=True))
    assert exhausted.next_topic == gone.next_topic == "d.webhook.dlq"
    assert exhausted.dead_letter == DeadLetterReason.EXHAUSTED
    assert gone.dead_letter == DeadLetterReason.GAVE_UP
    assert gone.log.job_status == JobStatus.FAILED
    assert (b"x-job-status", b"failed") in [(k.encode(), v) for k, v in gone.headers]


def test_the_error_table_decides_the_verdict() -> None:
    """One table for every transport: permanent gives up, retryable retries after its delay."""
    permanent = failed(PermanentError("the queue does not exist"), status_code=400)
    retryable = failed(RetryableError("throttled", delay=7.5))
    not_sent = failed(RetryableError("blocked address"), sent=False)

    assert permanent.verdict is Verdict.GIVE_UP
    assert permanent.error_detail == "the queue does not exist"
    assert _decide(permanent).dead_letter == DeadLetterReason.GAVE_UP
    assert retryable.verdict is Verdict.RETRY
    assert retryable.retry_after == 7.5
    assert _decide(retryable).next_topic == "d.webhook.retry.30s"  # the first tier >= 7.5 s
    assert not_sent.verdict is Verdict.SKIPPED
    assert _decide(not_sent).next_job is not None
    assert DeliveryOutcome(succeeded=True).verdict is Verdict.DELIVERED
