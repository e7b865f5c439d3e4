"""The delivery job: one (event, integration) pair on a deliveries or retry topic."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from integrations_common.events import CommerceEvent
from integrations_common.integrations import IntegrationSnapshot

# Fixed namespace so that job ids are the same in every process and across replays.
JOB_NAMESPACE = uuid.UUID("6f1b7a4e-5d0c-4f59-9a57-2c1a3b8e9d10")
_NAMESPACE = JOB_NAMESPACE.bytes


def uuid5_text(name: str) -> str:
    """`str(uuid.uuid5(JOB_NAMESPACE, name))`, spelled out: building the `UUID` object was
    most of its cost, paid once per job and once per attempt."""
    digest = bytearray(hashlib.sha1(_NAMESPACE + name.encode(), usedforsecurity=False).digest())
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # the RFC 4122 variant
    text = digest[:16].hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def job_id_for(event_id: str, integration_id: str) -> str:
    """The deterministic job id of an (event, integration) pair."""
    return uuid5_text(f"{event_id}\x00{integration_id}")


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class DeliveryJob(BaseModel):
    """What a sender needs to make one attempt: the event and the integration it matched."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    job_id: str
    event: CommerceEvent
    integration: IntegrationSnapshot
    attempt: int = Field(default=1, ge=1)
    not_before: AwareDatetime | None = None
    routed_at: AwareDatetime
    first_attempted_at: AwareDatetime | None = None
    # Sent again by an operator (API replay or recovery, dead-letter tool): the first attempt
    # of its new series is made even while the integration's circuit is open. Written only when
    # true, so that every other job reads as before (a sender of an older version forbids
    # unknown fields).
    replay: bool = Field(default=False, exclude_if=lambda replay: not replay)

    @classmethod
    def route(
        cls, event: CommerceEvent, integration: IntegrationSnapshot, *, now: datetime | None = None
    ) -> DeliveryJob:
        """The first job for an event that matched an integration."""
        return cls(
            job_id=job_id_for(event.id, integration.id),
            event=event,
            integration=integration,
            routed_at=now or utc_now(),
        )

    def next_attempt(self, *, not_before: datetime, attempted_at: datetime) -> DeliveryJob:
        """The same job for its next attempt, due no earlier than `not_before`."""
        return self.model_copy(
            update={
                "attempt": self.attempt + 1,
                "not_before": not_before,
                "first_attempted_at": self.first_attempted_at or attempted_at,
            }
        )

    @property
    def kafka_key(self) -> bytes:
        """Jobs are keyed by integration id, so one integration's jobs share a partition."""
        return self.integration.id.encode()
