"""The stored integration and its outward forms: the API resource and the config snapshot."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from integrations_common.integrations import IntegrationSnapshot, IntegrationType
from integrations_common.store.masking import masked_view
from integrations_common.store.resource import (
    AutoDisabled,
    Integration,
    ResourceMeta,
    SelfLink,
    Timestamps,
)
from integrations_common.tenancy import Tenant

BASE_PATH = "/v2/integrations"


def now_ms() -> datetime:
    """The current UTC time at the store's (millisecond) precision."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class IntegrationRecord(BaseModel):
    """An integration as stored in MongoDB (secrets as ciphertext, plus their masked form)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    id: str = Field(alias="_id")
    tenant_key: str
    org_id: str | None
    store_id: str | None
    name: str
    description: str
    enabled: bool
    integration_type: IntegrationType
    observes: list[str]
    configuration: dict[str, Any]
    masked: dict[str, str] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime
    version: int
    deleted: bool = False
    pending: bool = False
    outbox: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # Set when the platform disabled it because every attempt failed for too long; cleared
    # when it is enabled again.
    auto_disabled: AutoDisabled | None = None

    @property
    def tenant(self) -> Tenant:
        """The owner."""
        return Tenant(org_id=self.org_id, store_id=self.store_id)

    def document(self) -> dict[str, Any]:
        """The MongoDB document."""
        return self.model_dump(by_alias=True)

    def resource(self) -> Integration:
        """The API's view, with masked secrets."""
        return Integration(
            id=self.id,
            name=self.name,
            description=self.description,
            enabled=self.enabled,
            integration_type=self.integration_type,
            observes=list(self.observes),
            configuration=masked_view(self.configuration, self.masked),
            links=SelfLink(self=f"{BASE_PATH}/{self.id}"),
            meta=ResourceMeta(
                timestamps=Timestamps(created_at=self.created_at, updated_at=self.updated_at),
                auto_disabled=self.auto_disabled,
            ),
        )

    def snapshot(self) -> IntegrationSnapshot:
        """The value published on the config topic (secrets stay ciphertext)."""
        return IntegrationSnapshot.model_validate(
            self.model_dump(include=set(IntegrationSnapshot.model_fields))
        )
