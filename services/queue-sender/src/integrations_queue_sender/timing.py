"""Per-job attempt times on outcomes, so attempt durations exclude time spent queued."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from integrations_common.delivery.transport import DeliveryOutcome
from integrations_common.jobs import utc_now


def stamped(
    outcome: DeliveryOutcome, *, started_at: datetime, finished_at: datetime | None = None
) -> DeliveryOutcome:
    """`outcome` with its attempt's start and end (now, unless given)."""
    return replace(outcome, started_at=started_at, finished_at=finished_at or utc_now())
