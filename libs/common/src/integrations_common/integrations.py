"""The integration snapshot: the value on the compacted `integrations.config` topic.

The API publishes one per create or update (and a tombstone, a null value, on delete); the router
and the senders read them. Secret configuration fields hold ciphertext from `SecretBox`, never
plain text.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from integrations_common.tenancy import Tenant
from integrations_common.transports import INTEGRATION_TYPES, Transport

_SPELLINGS = core_schema.literal_schema(list(INTEGRATION_TYPES))


class _AsIntegrationType:
    """Pydantic: a `Transport` read and written as the API spells it, with the JSON schema of the
    spec's `IntegrationType`."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            _parse,
            serialization=core_schema.plain_serializer_function_ser_schema(
                _spell, return_schema=_SPELLINGS, when_used="always"
            ),
            ref="IntegrationType",
            json_schema_input_schema=_SPELLINGS,
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        reference = handler(schema)
        definition = handler.resolve_ref_schema(reference)
        definition.clear()
        definition.update(
            {
                "description": "How an integration delivers (the spec's `integration_type`).",
                "enum": list(INTEGRATION_TYPES),
                "title": "IntegrationType",
                "type": "string",
            }
        )
        return reference


def _parse(value: Any) -> Transport:
    if isinstance(value, Transport):
        return value
    if isinstance(value, str) and value in INTEGRATION_TYPES:
        return Transport.from_integration_type(value)
    raise PydanticCustomError(
        "enum",
        "Input should be 'webhook', 'aws_sqs' or 'stomp'",
        {"expected": "'webhook', 'aws_sqs' or 'stomp'"},
    )


def _spell(transport: Transport) -> str:
    return transport.integration_type


IntegrationType = Annotated[Transport, _AsIntegrationType()]
"""A model field holding a `Transport`, as the API spells it (`webhook`, `aws_sqs`, `stomp`)."""


SECRET_FIELDS: dict[Transport, frozenset[str]] = {
    Transport.WEBHOOK: frozenset({"secret_key"}),
    Transport.SQS: frozenset({"aws_access_key_id", "aws_secret_access_key"}),
    Transport.STOMP: frozenset({"password"}),
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
        return self.integration_type

    @property
    def secret_fields(self) -> frozenset[str]:
        """Configuration fields that hold ciphertext."""
        return SECRET_FIELDS[self.integration_type]
