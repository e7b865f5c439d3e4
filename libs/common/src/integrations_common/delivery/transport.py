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
from typing import Protocol

from integrations_common.jobs import DeliveryJob


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


class DeliveryTransport(Protocol):
    """Attempts delivery of jobs to one kind of destination."""

    async def deliver(self, jobs: Sequence[DeliveryJob]) -> Sequence[DeliveryOutcome]:
        """Attempt every job concurrently; answer one outcome per job, in order."""
        ...

    async def aclose(self) -> None:
        """Release connections and clients."""
        ...
