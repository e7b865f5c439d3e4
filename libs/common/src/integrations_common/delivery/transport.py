"""The one interface every delivery transport implements (webhook, SQS, STOMP).

A sender's worker hands a transport a batch of due jobs and gets back one outcome per job, in
the same order. The worker, not the transport, decides what happens next (log, retry tier, dead
letter) and commits offsets; transports only attempt delivery and describe what happened.
Transports never raise for a failed delivery: a failure is an outcome.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
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
    `released` means the job was not attempted at all because the worker gave it back before its
    request started (`not_started()`, see `may_start`): no attempt log, no retry, no verdict.
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
    released: bool = False

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


_START_GATE: ContextVar[Callable[[], bool] | None] = ContextVar("start_gate", default=None)


@contextlib.contextmanager
def start_gate(gate: Callable[[], bool]) -> Iterator[None]:
    """Used by the worker around `deliver`: `gate()` answers whether the jobs may still start."""
    token = _START_GATE.set(gate)
    try:
        yield
    finally:
        _START_GATE.reset(token)


def may_start() -> bool:
    """Whether a job's request may start now; a transport asks right before sending.

    False once the worker hands the job's partition over (a rebalance revoked it, or the
    worker stops): the transport sends nothing for the job and answers `not_started()`. Asked
    after any wait for a connection or a concurrency slot, so that a revoke or a stop waits only
    for requests already on their way, never for the queue behind them (docs/reliability.md,
    "Graceful handover"). True outside a worker's `deliver` call.
    """
    gate = _START_GATE.get()
    return gate is None or gate()


def not_started() -> DeliveryOutcome:
    """The outcome of a job not attempted because `may_start()` said no (nothing was sent)."""
    return DeliveryOutcome(
        succeeded=False,
        skipped=True,
        released=True,
        error_detail="Not sent: handed over to the partition's next owner before it started",
    )


class DeliveryTransport(Protocol):
    """Attempts delivery of jobs to one kind of destination."""

    async def deliver(self, jobs: Sequence[DeliveryJob]) -> Sequence[DeliveryOutcome]:
        """Attempt every job concurrently; answer one outcome per job, in order.

        Right before a job's request starts, ask `may_start()`; when it says no, send nothing
        and answer `not_started()` for that job.
        """
        ...

    async def aclose(self) -> None:
        """Release connections and clients."""
        ...
