"""An integration as the API returns it (secrets masked), and as its `integration.*` events
carry it: the API answers with it and the log writer's auto-disable publishes it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, PlainSerializer, WithJsonSchema

from integrations_common.integrations import IntegrationType

ConfigurationJson = Annotated[
    dict[str, Any],
    WithJsonSchema(
        {
            "type": "object",
            "description": "The content depends on the value of `integration_type`.",
            "oneOf": [
                {"$ref": "#/components/schemas/AWSSQSConfigurationObject"},
                {"$ref": "#/components/schemas/WebhookConfigurationObject"},
                {"$ref": "#/components/schemas/STOMPConfigurationObject"},
            ],
        }
    ),
]


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Timestamp = Annotated[
    datetime,
    PlainSerializer(_rfc3339, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class Timestamps(BaseModel):
    """When a resource was created and last updated (UTC, to the second, as in the spec)."""

    created_at: Timestamp
    updated_at: Timestamp


class AutoDisabled(BaseModel):
    """Why the platform disabled an integration (an extension; gone once it is enabled again)."""

    reason: str
    disabled_at: Timestamp
    failing_since: Timestamp
    failed_jobs: int


class ResourceMeta(BaseModel):
    """A resource's `meta` member."""

    timestamps: Timestamps
    auto_disabled: AutoDisabled | None = Field(default=None, exclude_if=lambda v: v is None)


class SelfLink(BaseModel):
    """A resource's `links` member."""

    self: str


class Integration(BaseModel):
    """An integration as the API returns it; secrets are masked."""

    id: str
    type: Literal["integration"] = "integration"
    name: str
    description: str
    enabled: bool
    integration_type: IntegrationType
    observes: list[str]
    configuration: ConfigurationJson
    links: SelfLink
    meta: ResourceMeta
