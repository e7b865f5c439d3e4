"""Integration use cases. Keyword-only arguments; domain errors only, never HTTP ones."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from integrations_api.errors import ConflictError, NotFoundError, ValidationFailedError
from integrations_api.integrations.models import (
    IntegrationCreate,
    IntegrationUpdate,
    canonical_type,
)
from integrations_api.integrations.secrets import seal
from integrations_api.integrations.validation import (
    unique,
    validate_configuration,
    validate_observes,
)
from integrations_common.secret_box import SecretBox
from integrations_common.store.events import Change, queued_event
from integrations_common.store.health import HealthStore
from integrations_common.store.integrations import MAX_WRITE_ATTEMPTS, IntegrationStore
from integrations_common.store.records import IntegrationRecord, now_ms
from integrations_common.tenancy import Tenant


@dataclass(frozen=True)
class Context:
    """What the use cases need besides their arguments."""

    store: IntegrationStore
    box: SecretBox
    events_source: str
    health: HealthStore | None = None


async def create_integration(
    *, context: Context, tenant: Tenant, data: IntegrationCreate
) -> IntegrationRecord:
    """Validate and store a new integration; its config snapshot and event are queued."""
    integration_type = canonical_type(data.integration_type)
    configuration, problems = validate_configuration(integration_type, data.configuration)
    problems = validate_observes(data.observes, tenant) + problems
    if problems or configuration is None:
        raise ValidationFailedError(problems)
    stored, masked = seal(
        box=context.box,
        integration_type=integration_type,
        configuration=configuration.model_dump(exclude_none=True),
    )
    now = now_ms()
    record = IntegrationRecord(
        id=str(uuid.uuid4()),
        tenant_key=tenant.key,
        org_id=tenant.org_id,
        store_id=tenant.store_id,
        name=data.name,
        description=data.description,
        enabled=data.enabled,
        integration_type=integration_type,
        observes=unique(data.observes),
        configuration=stored,
        masked=masked,
        created_at=now,
        updated_at=now,
        version=1,
        pending=True,
    )
    event = queued_event(record, Change.CREATED, context.events_source)
    if event is not None:
        record = record.model_copy(update={"outbox": {event["id"]: event["entry"]}})
    await context.store.insert(record)
    return record


async def get_integration(
    *, context: Context, tenant: Tenant, integration_id: str
) -> IntegrationRecord:
    """The tenant's integration; `NotFoundError` when it is missing or someone else's."""
    record = await context.store.get(tenant=tenant, integration_id=integration_id)
    if record is None:
        raise NotFoundError()
    return record


async def list_integrations(
    *, context: Context, tenant: Tenant, offset: int, limit: int
) -> tuple[list[IntegrationRecord], int]:
    """A page of the tenant's integrations and their total."""
    return await context.store.page(tenant=tenant, offset=offset, limit=limit)


def _apply(
    *, context: Context, tenant: Tenant, current: IntegrationRecord, data: IntegrationUpdate
) -> IntegrationRecord | None:
    """The updated record, or None when `data` changes nothing."""
    given = data.model_dump(exclude_unset=True, exclude={"type"})
    if not given:
        return None
    integration_type = (
        canonical_type(data.integration_type) if data.integration_type else current.integration_type
    )
    type_changed = integration_type != current.integration_type
    problems = validate_observes(data.observes, tenant) if data.observes is not None else []
    configuration = current.configuration
    masked = current.masked
    if data.configuration is not None or type_changed:
        base = {} if type_changed else dict(current.configuration)
        merged = {**base, **(data.configuration or {})}
        parsed, config_problems = validate_configuration(integration_type, merged)
        problems += config_problems
        if parsed is not None:
            configuration, masked = seal(
                box=context.box,
                integration_type=integration_type,
                configuration=parsed.model_dump(exclude_none=True),
                previous={} if type_changed else current.configuration,
                previous_masked={} if type_changed else current.masked,
            )
    if problems:
        raise ValidationFailedError(problems)
    return current.model_copy(
        update={
            "name": data.name if data.name is not None else current.name,
            "description": (
                data.description if data.description is not None else current.description
            ),
            "enabled": data.enabled if data.enabled is not None else current.enabled,
            "auto_disabled": None if data.enabled else current.auto_disabled,
            "integration_type": integration_type,
            "observes": unique(data.observes) if data.observes is not None else current.observes,
            "configuration": configuration,
            "masked": masked,
            "version": current.version + 1,
            "updated_at": now_ms(),
            "pending": True,
        }
    )


async def update_integration(
    *, context: Context, tenant: Tenant, integration_id: str, data: IntegrationUpdate
) -> tuple[IntegrationRecord, bool]:
    """Apply a partial update; answers the record and whether anything changed."""
    for _ in range(MAX_WRITE_ATTEMPTS):
        current = await get_integration(
            context=context, tenant=tenant, integration_id=integration_id
        )
        updated = _apply(context=context, tenant=tenant, current=current, data=data)
        if updated is None:
            return current, False
        event = queued_event(updated, Change.UPDATED, context.events_source)
        if await context.store.replace_version(previous=current, record=updated, event=event):
            if updated.enabled and not current.enabled and context.health is not None:
                await context.health.reset([integration_id])
            return updated, True
    raise ConflictError("The integration is being changed concurrently; try again.")


async def delete_integration(
    *, context: Context, tenant: Tenant, integration_id: str
) -> IntegrationRecord:
    """Mark the integration deleted; the publisher sends its tombstone, then removes it."""
    for _ in range(MAX_WRITE_ATTEMPTS):
        current = await get_integration(
            context=context, tenant=tenant, integration_id=integration_id
        )
        deleted = current.model_copy(
            update={
                "deleted": True,
                "version": current.version + 1,
                "updated_at": now_ms(),
                "pending": True,
            }
        )
        event = queued_event(deleted, Change.DELETED, context.events_source)
        if await context.store.replace_version(previous=current, record=deleted, event=event):
            return deleted
    raise ConflictError("The integration is being changed concurrently; try again.")
