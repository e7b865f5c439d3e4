"""One rule for every transport: an attempt uses the newest integration version seen.

A job carries the snapshot it was routed with, so a retry queued before its owner fixed the
integration (a new URL, a new queue, a new password) would otherwise keep failing with the old
configuration. The worker notes the snapshot of every job it attempts and attempts each job with
the newest version seen for its integration, so a fix applies to retries already queued.
"""

from __future__ import annotations

from collections import OrderedDict

from integrations_common.integrations import IntegrationSnapshot
from integrations_common.jobs import DeliveryJob

_MAX_INTEGRATIONS = 100_000


class NewestVersions:
    """The newest snapshot seen per integration (at most `max_integrations`, least recent out)."""

    def __init__(self, max_integrations: int = _MAX_INTEGRATIONS) -> None:
        self._max = max_integrations
        self._newest: OrderedDict[str, IntegrationSnapshot] = OrderedDict()

    def current(self, job: DeliveryJob) -> DeliveryJob:
        """`job` with the newest snapshot of its integration (noting the job's own first)."""
        snapshot = job.integration
        known = self._newest.get(snapshot.id)
        if known is None or snapshot.version > known.version:
            self._newest[snapshot.id] = snapshot
            self._newest.move_to_end(snapshot.id)
            if len(self._newest) > self._max:
                self._newest.popitem(last=False)
            return job
        self._newest.move_to_end(snapshot.id)
        if known.version == snapshot.version:
            return job
        return job.model_copy(update={"integration": known})
