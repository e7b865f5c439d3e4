"""A delivery job's JSON, built from parts serialised once instead of once per job.

An event that matches K integrations becomes K jobs that share the event; an integration's
snapshot is shared by every job routed to it until its next version. Serialising a whole
`DeliveryJob` per job repeated both (profiled under `make bench-router`: model validation and
`model_dump_json` per job were the router's largest costs after sending). The bytes produced are
exactly `DeliveryJob.route(event, integration, now=now).model_dump_json()` (a test holds it to
that), and so are the job ids (`job_id_for`).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from pydantic import AwareDatetime, TypeAdapter

from integrations_common.events import CommerceEvent
from integrations_common.integrations import IntegrationSnapshot
from integrations_common.jobs import JOB_NAMESPACE

_TIME = TypeAdapter(AwareDatetime)
_CACHE_SIZE = 10_000


def fast_job_id(event_id: str, integration_id: str) -> str:
    """`job_id_for` (a UUID version 5), without building `uuid.UUID` objects."""
    digest = bytearray(
        hashlib.sha1(
            JOB_NAMESPACE.bytes + f"{event_id}\x00{integration_id}".encode(), usedforsecurity=False
        ).digest()[:16]
    )
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


class JobEncoder:
    """Encodes first-attempt jobs; remembers the last event's and each snapshot's JSON."""

    def __init__(self) -> None:
        self._event: tuple[CommerceEvent, bytes] | None = None
        self._snapshots: dict[int, tuple[IntegrationSnapshot, bytes]] = {}
        self._time: tuple[datetime, bytes] | None = None

    def encode(
        self, event: CommerceEvent, integration: IntegrationSnapshot, *, now: datetime
    ) -> tuple[str, bytes]:
        """The job id and the JSON of the first job for `event` and `integration`."""
        job_id = fast_job_id(event.id, integration.id)
        value = b"".join(
            (
                b'{"job_id":"',
                job_id.encode(),
                b'","event":',
                self._event_json(event),
                b',"integration":',
                self._snapshot_json(integration),
                b',"attempt":1,"not_before":null,"routed_at":',
                self._time_json(now),
                b',"first_attempted_at":null}',
            )
        )
        return job_id, value

    def _event_json(self, event: CommerceEvent) -> bytes:
        if self._event is None or self._event[0] is not event:
            self._event = (event, event.model_dump_json().encode())
        return self._event[1]

    def _snapshot_json(self, integration: IntegrationSnapshot) -> bytes:
        found = self._snapshots.get(id(integration))
        if found is None or found[0] is not integration:
            if len(self._snapshots) >= _CACHE_SIZE:
                self._snapshots.clear()
            found = (integration, integration.model_dump_json().encode())
            self._snapshots[id(integration)] = found
        return found[1]

    def _time_json(self, now: datetime) -> bytes:
        if self._time is None or self._time[0] != now:
            self._time = (now, _TIME.dump_json(now))
        return self._time[1]
