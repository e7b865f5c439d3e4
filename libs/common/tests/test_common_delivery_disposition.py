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
    decide,
)
from integrations_common.events import CommerceEvent
from integrations_common.integrations import IntegrationSnapshot, IntegrationType
from integrations_common.jobs import DeliveryJob

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SCHEDULE = RetrySchedule.parse("5s,30s")


def _job() -> DeliveryJob:
    event = CommerceEvent(
        id="ev-1",
        source="s",
        type="order.paid",
        time=T0,
        orgid="org-1",
        data={"data": {"type": "order", "id": "o-1"}},
    )
    integration = IntegrationSnapshot(
        id="int-1",
        org_id="org-1",
        name="n",
        integration_type=IntegrationType.WEBHOOK,
        observes=["order.paid"],
        configuration={"url": "https://example.com"},
        version=1,
        created_at=T0,
        updated_at=T0,
    )
    return DeliveryJob.route(event, integration, now=T0)


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
