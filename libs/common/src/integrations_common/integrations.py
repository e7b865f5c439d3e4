"""The integration snapshot: the value on the compacted `integrations.config` topic.

The API publishes one per create or update (and a tombstone, a null value, on delete); the router
and the senders read them. Secret configuration fields hold ciphertext from `SecretBox`, never
plain text.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from integrations_common.settings import Transport
from integrations_common.tenancy import Tenant


class IntegrationType(StrEnum):
    """How an integration delivers (the spec's `integration_type`)."""

    WEBHOOK = "webhook"
    AWS_SQS = "aws_sqs"
    STOMP = "stomp"

    @property
    def transport(self) -> Transport:
        """The deliveries topic family this type uses."""
        return _TRANSPORTS[self]


_TRANSPORTS = {
    IntegrationType.WEBHOOK: Transport.WEBHOOK,
    IntegrationType.AWS_SQS: Transport.SQS,
    IntegrationType.STOMP: Transport.STOMP,
}

SECRET_FIELDS: dict[IntegrationType, frozenset[str]] = {
    IntegrationType.WEBHOOK: frozenset({"secret_key"}),
    IntegrationType.AWS_SQS: frozenset({"aws_access_key_id", "aws_secret_access_key"}),
    IntegrationType.STOMP: frozenset({"password"}),
}


class IntegrationSnapshot(BaseModel):
    """An integration as the delivery side sees it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    org_id: str | None = None
    store_id: str | None = None
    name: str
    description: str = ""
    enabled: bool = True
    integration_type: IntegrationType
    observes: list[str]
    configuration: dict[str, Any]
    version: int = Field(ge=1)
    created_at: AwareDatetime
    updated_at: AwareDatetime

    @property
    def tenant(self) -> Tenant:
        """The owner: a store-level integration has a store id, an org-level one only an org id."""
        return Tenant(org_id=self.org_id, store_id=self.store_id)

    @property
    def transport(self) -> Transport:
        """Which deliveries topic this integration's jobs go to."""
        return self.integration_type.transport

    @property
    def secret_fields(self) -> frozenset[str]:
        """Configuration fields that hold ciphertext."""
        return SECRET_FIELDS[self.integration_type]
