"""The API's own observable events: `integration.created|updated|deleted` as CloudEvents."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from integrations_common.events import CommerceEvent
from integrations_common.store.records import IntegrationRecord

EVENT_NAMESPACE = uuid.UUID("1b4e9f52-3c7d-4a0e-8a43-6d2f0c9e7b15")


class Change(StrEnum):
    """What happened to an integration."""

    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"


def event_id_for(integration_id: str, version: int) -> str:
    """Deterministic, so a republished event is recognisable as the same one."""
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{integration_id}\x00{version}"))


def change_event(*, record: IntegrationRecord, change: Change, source: str) -> CommerceEvent | None:
    """The CloudEvent for a change of `record` (at its new version).

    None for a tenant without an org id: the event contract requires `orgid`.
    """
    if record.org_id is None:
        return None
    if change is Change.DELETED:
        data: dict[str, Any] = {"data": {"type": "integration", "id": record.id}}
    else:
        data = {"data": record.resource().model_dump(mode="json")}
    return CommerceEvent(
        id=event_id_for(record.id, record.version),
        source=source,
        type=f"integration.{change.value}",
        time=record.updated_at,
        orgid=record.org_id,
        storeid=record.store_id,
        data=data,
    )


def outbox_entry(event: CommerceEvent, *, seq: int) -> dict[str, Any]:
    """How a pending event waits in its integration's document until it is published."""
    return {
        "id": event.id,
        "entry": {"seq": seq, "event": event.model_dump_json(exclude_none=True)},
    }


def queued_event(record: IntegrationRecord, change: Change, source: str) -> dict[str, Any] | None:
    """The outbox entry of `record`'s change event (None when it has none)."""
    event = change_event(record=record, change=change, source=source)
    return outbox_entry(event, seq=record.version) if event else None
