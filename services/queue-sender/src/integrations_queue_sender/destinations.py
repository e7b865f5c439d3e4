"""Resolved destinations per integration, where the newest configuration seen wins.

Jobs carry the snapshot they were routed with, so a retried job may carry an older version than
a fresh one. Users fix their configuration by updating the integration, so a job is always sent
with the newest version this process has seen for its integration; a newer version replaces the
resolved destination (and the transport refreshes its clients or connections).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from integrations_common.delivery import DeliveryOutcome
from integrations_common.integrations import IntegrationSnapshot
from integrations_common.jobs import DeliveryJob
from integrations_queue_sender.errors import QueueSenderError, failure

D = TypeVar("D")


@dataclass(frozen=True)
class _Resolved(Generic[D]):
    version: int
    destination: D | None
    error: QueueSenderError | None


class DestinationRegistry(Generic[D]):
    """Resolves each integration's configuration once per version."""

    def __init__(
        self,
        resolve: Callable[[IntegrationSnapshot], D],
        *,
        on_replace: Callable[[D], None] | None = None,
    ) -> None:
        self._resolve = resolve
        self._on_replace = on_replace
        self._entries: dict[str, _Resolved[D]] = {}

    def observe(self, integrations: Iterable[IntegrationSnapshot]) -> None:
        """Take note of these versions first, so a batch uses its newest version throughout."""
        for integration in integrations:
            self._entry(integration)

    def get(self, integration: IntegrationSnapshot) -> D:
        """The destination of the newest known version; raises its resolution error."""
        entry = self._entry(integration)
        if entry.error is not None:
            raise entry.error.with_traceback(None)
        assert entry.destination is not None  # noqa: S101 - one of the two is always set
        return entry.destination

    def resolve_batch(
        self, jobs: Sequence[DeliveryJob], outcomes: list[DeliveryOutcome | None]
    ) -> list[tuple[int, DeliveryJob, D]]:
        """Each job of a batch with its destination (the batch's newest version of its
        integration); a job whose destination cannot be resolved gets its failed outcome."""
        self.observe(job.integration for job in jobs)
        resolved: list[tuple[int, DeliveryJob, D]] = []
        for index, job in enumerate(jobs):
            try:
                resolved.append((index, job, self.get(job.integration)))
            except QueueSenderError as error:
                outcomes[index] = failure(error)
        return resolved

    def _entry(self, integration: IntegrationSnapshot) -> _Resolved[D]:
        entry = self._entries.get(integration.id)
        if entry is None or integration.version > entry.version:
            entry = self._resolve_now(integration, previous=entry)
        return entry

    def destinations(self) -> list[D]:
        """Every destination currently resolved."""
        return [e.destination for e in self._entries.values() if e.destination is not None]

    def _resolve_now(
        self, integration: IntegrationSnapshot, *, previous: _Resolved[D] | None
    ) -> _Resolved[D]:
        try:
            entry = _Resolved(integration.version, self._resolve(integration), None)
        except QueueSenderError as error:
            entry = _Resolved[D](integration.version, None, error)
        self._entries[integration.id] = entry
        if previous is not None and previous.destination is not None and self._on_replace:
            self._on_replace(previous.destination)
        return entry
