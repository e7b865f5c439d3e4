"""Auto-disable: the log writer follows each integration's failure streak from the attempt logs
it stores, and disables an integration whose every attempt has failed for `failing_for_s` and
that has at least `min_failed_jobs` jobs that failed for good.

The log writer sees every attempt's outcome, in order per job, with no extra topic or consumer;
it already writes the store, and it publishes the change with the API's own publisher
(`integrations_common.store`), exactly as an API update (config topic, then `integration.updated`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from integrations_common.attempts import AttemptLog, JobStatus
from integrations_common.errors import PermanentError
from integrations_common.store.events import Change, queued_event
from integrations_common.store.health import HealthStore
from integrations_common.store.integrations import MAX_WRITE_ATTEMPTS, IntegrationStore
from integrations_common.store.publisher import ConfigPublisher
from integrations_common.store.records import IntegrationRecord, now_ms
from integrations_common.store.resource import AutoDisabled

logger = logging.getLogger(__name__)


class ConcurrentChangeError(PermanentError):
    """The integration changed concurrently too often to disable it (the next batch tries
    again)."""


@dataclass(frozen=True)
class Streak:
    """What one batch says about one integration."""

    succeeded: bool
    first_failure: datetime | None = None
    failed_jobs: int = 0


def streaks(logs: Sequence[AttemptLog]) -> dict[str, Streak]:
    """Per integration: whether an attempt succeeded, and the failures after the last success."""
    by_integration: dict[str, list[AttemptLog]] = {}
    for log in logs:
        by_integration.setdefault(log.integration_id, []).append(log)
    found = {}
    for integration_id, attempts in by_integration.items():
        successes = [log.finished_at for log in attempts if log.succeeded]
        last_success = max(successes, default=None)
        failures = [
            log
            for log in attempts
            if not log.succeeded and (last_success is None or log.finished_at > last_success)
        ]
        found[integration_id] = Streak(
            succeeded=last_success is not None,
            first_failure=min((log.finished_at for log in failures), default=None),
            failed_jobs=sum(1 for log in failures if log.job_status is JobStatus.FAILED),
        )
    return found


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def disable_failing(
    *,
    store: IntegrationStore,
    events_source: str,
    integration_id: str,
    failing_since: datetime,
    failed_jobs: int,
) -> IntegrationRecord | None:
    """Disable an enabled integration whose attempts all fail, recording why (as an update:
    a new version and an `integration.updated` event to publish). None when it is gone or
    already disabled."""
    for _ in range(MAX_WRITE_ATTEMPTS):
        current = await store.raw(integration_id)
        if current is None or current.deleted or not current.enabled:
            return None
        now = now_ms()
        reason = (
            f"Every delivery attempt has failed since {failing_since.isoformat()}; "
            f"{failed_jobs} jobs failed for good. Enable it again once the endpoint works."
        )
        disabled = current.model_copy(
            update={
                "enabled": False,
                "auto_disabled": AutoDisabled(
                    reason=reason,
                    disabled_at=now,
                    failing_since=failing_since,
                    failed_jobs=failed_jobs,
                ),
                "version": current.version + 1,
                "updated_at": now,
                "pending": True,
            }
        )
        event = queued_event(disabled, Change.UPDATED, events_source)
        if await store.replace_version(previous=current, record=disabled, event=event):
            return disabled
    raise ConcurrentChangeError("The integration is being changed concurrently; try again.")


@dataclass(frozen=True, kw_only=True)
class HealthTracker:
    """Updates the streaks after each stored batch and disables integrations past the limits."""

    health: HealthStore
    integrations: IntegrationStore
    publisher: ConfigPublisher
    events_source: str
    failing_for: timedelta
    min_failed_jobs: int

    async def observe(self, logs: Sequence[AttemptLog], *, now: datetime | None = None) -> int:
        """Account for a stored batch (three store commands at most); answers how many
        integrations it disabled."""
        found = streaks(logs)
        await self.health.reset([i for i, streak in found.items() if streak.succeeded])
        failing = {
            integration_id: (streak.first_failure, streak.failed_jobs)
            for integration_id, streak in found.items()
            if streak.first_failure is not None
        }
        due = await self.health.failed(
            failing,
            since_before=(now or datetime.now(UTC)) - self.failing_for,
            min_jobs=self.min_failed_jobs,
        )
        disabled = 0
        for state in due:
            since = _aware(state["failing_since"])
            disabled += await self._disable(state["_id"], since, state["failed_jobs"])
        return disabled

    async def _disable(self, integration_id: str, since: datetime, failed_jobs: int) -> int:
        record = await disable_failing(
            store=self.integrations,
            events_source=self.events_source,
            integration_id=integration_id,
            failing_since=since,
            failed_jobs=failed_jobs,
        )
        if record is None:  # gone, or disabled already: nothing to watch
            await self.health.reset([integration_id])
            return 0
        logger.warning(
            "integration disabled: every attempt failed for too long",
            extra={
                "integration_id": integration_id,
                "failing_since": since.isoformat(),
                "failed_jobs": failed_jobs,
            },
        )
        await self.publisher.try_sync(integration_id)
        return 1
