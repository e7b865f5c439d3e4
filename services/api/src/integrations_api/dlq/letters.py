"""Dead letters as the tool sees them, and the integrations' current snapshots."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import ConsumerRecord
from pydantic import ValidationError

from integrations_api.dlq.reading import read_all
from integrations_common.delivery.disposition import DEAD_LETTER_REASON_HEADER
from integrations_common.integrations import IntegrationSnapshot
from integrations_common.jobs import DeliveryJob
from integrations_common.settings import KafkaSettings


@dataclass(frozen=True)
class DeadLetter:
    """One record of a dead-letter topic; `job` is None when it does not parse (or was cut)."""

    partition: int
    offset: int
    key: str | None
    dead_at: datetime
    reason: str
    job: DeliveryJob | None

    @classmethod
    def of(cls, record: ConsumerRecord) -> DeadLetter:
        """The dead letter of a consumed record."""
        headers = dict(record.headers or ())
        try:
            job = DeliveryJob.model_validate_json(record.value) if record.value else None
        except ValidationError:
            job = None
        return cls(
            partition=record.partition,
            offset=record.offset,
            key=record.key.decode(errors="replace") if record.key else None,
            dead_at=datetime.fromtimestamp(record.timestamp / 1000, UTC),
            reason=headers.get(DEAD_LETTER_REASON_HEADER, b"").decode(errors="replace"),
            job=job,
        )


async def dead_letters(
    settings: KafkaSettings,
    topic: str,
    *,
    integration_id: str | None = None,
    since: datetime | None = None,
) -> list[DeadLetter]:
    """The dead letters of `topic`, of one integration (by record key) and since a time."""
    found = []
    async for record in read_all(settings, topic):
        if integration_id is not None and record.key != integration_id.encode():
            continue
        letter = DeadLetter.of(record)
        if since is None or letter.dead_at >= since:
            found.append(letter)
    return found


async def current_snapshots(
    settings: KafkaSettings, config_topic: str, ids: set[str]
) -> dict[str, IntegrationSnapshot | None]:
    """The newest snapshot of each of `ids` on the compacted config topic (None: deleted or
    never published)."""
    latest: dict[str, IntegrationSnapshot | None] = dict.fromkeys(ids)
    async for record in read_all(settings, config_topic):
        key = record.key.decode(errors="replace") if record.key else ""
        if key in latest:
            latest[key] = (
                IntegrationSnapshot.model_validate_json(record.value) if record.value else None
            )
    return latest
