"""Request and response shapes of the integration operations (names as in the spec)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
)

from integrations_common.store.resource import ConfigurationJson, Integration
from integrations_common.transports import Transport

MAX_NAME = 256
MAX_DESCRIPTION = 4096
MAX_OBSERVES = 200

IntegrationTypeInput = Literal["webhook", "aws_sqs", "aws-sqs", "stomp"]
ObservesInput = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=128)]],
    Field(min_length=1, max_length=MAX_OBSERVES),
]


def canonical_type(value: str) -> Transport:
    """`aws-sqs` is accepted as an alias of `aws_sqs` (NOTES.md, decision 2)."""
    return Transport.from_integration_type(value.replace("-", "_"))


def _check_text(value: Any) -> None:
    """Strings must be storable: valid Unicode (no lone surrogates) and no NUL characters."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be valid Unicode text") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)
    elif isinstance(value, list):
        for item in value:
            _check_text(item)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        _check_text(value)
        return value


class WebhookConfigurationObject(_Strict):
    """Where a webhook integration posts, and the optional `X-MOLTIN-SECRET-KEY` value."""

    url: str = Field(max_length=2048, json_schema_extra={"format": "uri"})
    secret_key: str | None = Field(default=None, min_length=1, max_length=1024)


class AWSSQSConfigurationObject(_Strict):
    """The SQS queue and the credentials to send to it."""

    url: str = Field(max_length=2048, json_schema_extra={"format": "uri"})
    aws_access_key_id: str = Field(min_length=1, max_length=256)
    aws_secret_access_key: str = Field(min_length=1, max_length=1024)
    region: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")


class STOMPConfigurationObject(_Strict):
    """The STOMP brokers, the destination, and optional credentials."""

    addresses: list[Annotated[str, Field(min_length=1, max_length=2048)]] = Field(
        min_length=1, max_length=16
    )
    destination: str = Field(min_length=1, max_length=1024)
    username: str | None = Field(default=None, min_length=1, max_length=256)
    password: str | None = Field(default=None, min_length=1, max_length=1024)


CONFIGURATION_MODELS: dict[Transport, type[_Strict]] = {
    Transport.WEBHOOK: WebhookConfigurationObject,
    Transport.SQS: AWSSQSConfigurationObject,
    Transport.STOMP: STOMPConfigurationObject,
}


class IntegrationCreate(_Strict):
    """The attributes of a new integration."""

    type: Literal["integration"]
    name: str = Field(min_length=1, max_length=MAX_NAME)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    enabled: bool = True
    integration_type: IntegrationTypeInput
    observes: ObservesInput
    configuration: ConfigurationJson


class IntegrationUpdate(_Strict):
    """The attributes to change; absent ones keep their value."""

    type: Literal["integration"]
    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    enabled: bool | None = None
    integration_type: IntegrationTypeInput | None = None
    observes: ObservesInput | None = None
    configuration: ConfigurationJson | None = None


class CreateIntegrationRequest(_Strict):
    """`POST /integrations` body."""

    data: IntegrationCreate


class UpdateIntegrationRequest(_Strict):
    """`PUT /integrations/{integration_uuid}` body."""

    data: IntegrationUpdate


class PaginationLinks(BaseModel):
    """Links between pages; absent members are left out."""

    first: str | None = None
    last: str | None = None
    next: str | None = None
    prev: str | None = None


class Results(BaseModel):
    """The size of the whole collection."""

    total: int


class IntegrationDocument(BaseModel):
    """One integration."""

    data: Integration


class IntegrationList(BaseModel):
    """A page of integrations."""

    data: list[Integration]
    links: PaginationLinks
    results: Results
