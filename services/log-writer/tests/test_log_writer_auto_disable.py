"""Failure streaks as the log writer reads them from a batch of attempt logs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from integrations_common.attempts import AttemptLog, JobStatus, log_id_for
from integrations_common.transports import Transport
from integrations_log_writer.auto_disable import streaks

pytestmark = pytest.mark.unit

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def log(integration_id: str, second: int, status: JobStatus) -> AttemptLog:
    job_id = f"job-{integration_id}-{second}"
    at = T0 + timedelta(seconds=second)
    return AttemptLog(
        id=log_id_for(job_id, 1),
        job_id=job_id,
        integration_id=integration_id,
        org_id="org",
        store_id="store",
        transport=Transport.WEBHOOK,
        event_id=f"event-{second}",
        event_type="order.paid",
        attempt=1,
        succeeded=status is JobStatus.SUCCEEDED,
        job_status=status,
        event_time=at,
        routed_at=at,
        started_at=at,
        finished_at=at,
    )


def test_failures_count_from_the_first_failure_and_dead_jobs_only() -> None:
    found = streaks(
        [
            log("a", 3, JobStatus.RETRYING),
            log("a", 1, JobStatus.FAILED),
            log("a", 2, JobStatus.FAILED),
        ]
    )
    assert found["a"].succeeded is False
    assert found["a"].first_failure == T0 + timedelta(seconds=1)
    assert found["a"].failed_jobs == 2


def test_a_success_ends_the_streak_and_only_later_failures_start_a_new_one() -> None:
    found = streaks(
        [
            log("a", 1, JobStatus.FAILED),
            log("a", 2, JobStatus.SUCCEEDED),
            log("a", 3, JobStatus.FAILED),
            log("b", 1, JobStatus.SUCCEEDED),
        ]
    )
    assert found["a"].succeeded is True
    assert (found["a"].first_failure, found["a"].failed_jobs) == (T0 + timedelta(seconds=3), 1)
    assert (found["b"].succeeded, found["b"].first_failure) == (True, None)
