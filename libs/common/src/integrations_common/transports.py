"""The one enum of delivery transports, and the API's spelling of it.

A `Transport`'s value names its deliveries topic (`integrations.deliveries.<value>`), its sender's
consumer group, metric labels, settings and attempt logs: `webhook`, `sqs`, `stomp`. The API, the
config topic and the stored integrations call the same thing `integration_type` and spell SQS
`aws_sqs`; that spelling is derived here (`integration_type`, `from_integration_type`), and a
model field of type `integrations.IntegrationType` reads and writes it.
"""

from __future__ import annotations

from enum import StrEnum


class Transport(StrEnum):
    """How an integration delivers: by webhook, to an SQS queue or to a STOMP destination."""

    WEBHOOK = "webhook"
    SQS = "sqs"
    STOMP = "stomp"

    @property
    def integration_type(self) -> str:
        """The API's name of this transport (the spec's `integration_type`)."""
        return "aws_sqs" if self is Transport.SQS else self.value

    @classmethod
    def from_integration_type(cls, value: str) -> Transport:
        """The transport the API calls `value` (ValueError for another name)."""
        try:
            return _BY_INTEGRATION_TYPE[value]
        except KeyError:
            raise ValueError(f"{value!r} is not an integration type") from None


_BY_INTEGRATION_TYPE = {t.integration_type: t for t in Transport}
INTEGRATION_TYPES = tuple(_BY_INTEGRATION_TYPE)
