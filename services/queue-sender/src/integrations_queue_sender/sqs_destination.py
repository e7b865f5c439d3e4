"""An `aws_sqs` integration's configuration, validated and with its secrets decrypted."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from integrations_common.integrations import IntegrationSnapshot
from integrations_common.secret_box import SecretBox, UndecryptableSecretError
from integrations_queue_sender.errors import InvalidConfigurationError

# Public, China and GovCloud SQS endpoints, and VPC endpoints (all under amazonaws.com[.cn]).
_AWS_HOST = re.compile(r"^(?:[a-z0-9-]+\.)+amazonaws\.com(?:\.cn)?$")
_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d+$")


@dataclass(frozen=True)
class SqsDestination:
    """Where and as whom to send one integration's messages."""

    integration_id: str
    queue_url: str
    region: str
    endpoint_url: str
    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)

    @property
    def fifo(self) -> bool:
        """FIFO queues' names end in `.fifo`."""
        return self.queue_url.rstrip("/").endswith(".fifo")

    @property
    def client_key(self) -> tuple[str, str, str, str]:
        """Integrations with equal keys share one client (the secret enters only as a digest)."""
        digest = hashlib.sha256(self.secret_access_key.encode()).hexdigest()[:32]
        return (self.access_key_id, digest, self.region, self.endpoint_url)


def _text(configuration: dict[str, Any], name: str) -> str:
    value = configuration.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidConfigurationError(f"configuration.{name} is missing or empty")
    return value.strip()


def _secret(configuration: dict[str, Any], name: str, box: SecretBox) -> str:
    try:
        return box.decrypt(_text(configuration, name))
    except UndecryptableSecretError as exc:
        raise InvalidConfigurationError(
            f"configuration.{name} cannot be decrypted with the configured keys"
        ) from exc


def resolve_sqs_destination(
    integration: IntegrationSnapshot, *, box: SecretBox, endpoint_override: str | None
) -> SqsDestination:
    """Validate `integration`'s SQS configuration; raise `InvalidConfigurationError` if unusable.

    Without an override the endpoint is the queue URL's own AWS host; with one (local and test
    use only) every request goes to the override, whatever host the queue URL names.
    """
    configuration = integration.configuration
    queue_url = _text(configuration, "url")
    region = _text(configuration, "region")
    parts = urlsplit(queue_url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(parts.path) < 2:
        raise InvalidConfigurationError(f"configuration.url {queue_url!r} is not an SQS queue URL")
    if endpoint_override is not None:
        endpoint = endpoint_override.rstrip("/")
    else:
        if parts.scheme != "https" or not _AWS_HOST.match(parts.hostname):
            raise InvalidConfigurationError(
                f"configuration.url {queue_url!r} is not an AWS SQS queue URL "
                "(https://sqs.<region>.amazonaws.com/<account>/<queue>)"
            )
        if not _REGION.match(region):
            raise InvalidConfigurationError(f"configuration.region {region!r} is not an AWS region")
        endpoint = f"https://{parts.hostname}"
    return SqsDestination(
        integration_id=integration.id,
        queue_url=queue_url,
        region=region,
        endpoint_url=endpoint,
        access_key_id=_secret(configuration, "aws_access_key_id", box),
        secret_access_key=_secret(configuration, "aws_secret_access_key", box),
    )
