"""The one interface every delivery transport implements (webhook, SQS, STOMP).

A sender's worker hands a transport a batch of due jobs and gets back one outcome per job, in
the same order. The worker, not the transport, decides what happens next (log, retry tier, dead
letter) and commits offsets; transports only attempt delivery and describe what happened.
Transports never raise for a failed delivery: a failure is an outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from integrations_common.errors import IntegrationsError, RetryableError
from integrations_common.jobs import DeliveryJob


class Verdict(StrEnum):
    """What an attempt means for the job: the only input the worker's retry rules read."""

    DELIVERED = "delivered"
    RETRY = "retry"
    GIVE_UP = "give_up"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class DeliveryOutcome:
    """What one attempt achieved.

    `retry_after` is the receiver's own earliest retry time in seconds (`Retry-After`), if any.
    `give_up` means no later attempt can succeed (for example 410 Gone): dead-letter at once.
    `skipped` means no request was made (an open circuit, a blocked address).
    `started_at` / `finished_at` time this job's own attempt, when the transport knows them
    (otherwise the worker uses the times of the whole batch).
    """

    succeeded: bool
    status_code: int | None = None
    body: bytes = b""
    error_detail: str | None = None
    retry_after: float | None = None
    give_up: bool = False
    skipped: bool = False
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def verdict(self) -> Verdict:
        """Delivered; give up (dead-letter now); skipped (nothing sent); or retry."""
        if self.succeeded:
            return Verdict.DELIVERED
        if self.give_up:
            return Verdict.GIVE_UP
        if self.skipped:
            return Verdict.SKIPPED
        return Verdict.RETRY


def failed(
    error: IntegrationsError,
    *,
    detail: str | None = None,
    status_code: int | None = None,
    body: bytes = b"",
    sent: bool = True,
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
) -> DeliveryOutcome:
    """The one table from an error to a verdict, for every transport.

    A `PermanentError` (or any error not retryable) gives up: the job goes to the dead-letter
    topic at once, to be replayed once its integration is fixed. A `RetryableError` retries on
    the schedule, no sooner than its `delay`. `sent` False marks an attempt that sent nothing.
    """
    return DeliveryOutcome(
        succeeded=False,
        status_code=status_code,
        body=body,
        error_detail=detail if detail is not None else str(error),
        retry_after=error.delay if isinstance(error, RetryableError) else None,
        give_up=not error.retryable,
        skipped=not sent,
        started_at=started_at,
        finished_at=finished_at,
    )


class DeliveryTransport(Protocol):
    """Attempts delivery of jobs to one kind of destination."""

    async def deliver(self, jobs: Sequence[DeliveryJob]) -> Sequence[DeliveryOutcome]:
        """Attempt every job concurrently; answer one outcome per job, in order."""
        ...

    async def aclose(self) -> None:
        """Release connections and clients."""
        ...
