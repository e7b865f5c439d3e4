"""A `stomp` integration's configuration, validated and with its password decrypted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from integrations_common.integrations import IntegrationSnapshot
from integrations_common.secret_box import SecretBox, UndecryptableSecretError
from integrations_queue_sender.errors import InvalidConfigurationError

PLAIN_SCHEMES = frozenset({"stomp", "tcp"})
TLS_SCHEMES = frozenset({"stomp+ssl", "stomp+tls", "ssl"})
DEFAULT_PORTS = {False: 61613, True: 61614}


@dataclass(frozen=True)
class StompAddress:
    """One broker address of a failover list."""

    host: str
    port: int
    tls: bool

    def __str__(self) -> str:
        return f"{'stomp+ssl' if self.tls else 'stomp'}://{self.host}:{self.port}"


@dataclass(frozen=True)
class StompDestination:
    """Where and as whom to send one integration's messages."""

    integration_id: str
    version: int
    addresses: tuple[StompAddress, ...]
    destination: str
    login: str | None
    passcode: str | None = field(repr=False)


def parse_address(text: str) -> StompAddress:
    """`stomp://host:port` (plain) or `stomp+ssl://host:port` (TLS)."""
    parts = urlsplit(text.strip())
    scheme = parts.scheme.lower()
    if scheme not in PLAIN_SCHEMES | TLS_SCHEMES:
        raise InvalidConfigurationError(
            f"STOMP address {text!r} must start with stomp:// or stomp+ssl://"
        )
    try:
        port = parts.port
    except ValueError as exc:
        raise InvalidConfigurationError(f"STOMP address {text!r} has an invalid port") from exc
    if not parts.hostname:
        raise InvalidConfigurationError(f"STOMP address {text!r} names no host")
    tls = scheme in TLS_SCHEMES
    return StompAddress(parts.hostname, port or DEFAULT_PORTS[tls], tls)


def _addresses(configuration: dict[str, Any]) -> tuple[StompAddress, ...]:
    raw = configuration.get("addresses")
    if raw in (None, []) and isinstance(configuration.get("url"), str):
        raw = [configuration["url"]]
    if not isinstance(raw, list) or not raw or not all(isinstance(a, str) for a in raw):
        raise InvalidConfigurationError("configuration.addresses must list at least one address")
    return tuple(parse_address(a) for a in raw)


def resolve_stomp_destination(
    integration: IntegrationSnapshot, *, box: SecretBox
) -> StompDestination:
    """Validate `integration`'s STOMP configuration; raise `InvalidConfigurationError` if not."""
    configuration = integration.configuration
    destination = configuration.get("destination")
    if not isinstance(destination, str) or not destination.strip():
        raise InvalidConfigurationError("configuration.destination is missing or empty")
    login = configuration.get("username")
    password = configuration.get("password")
    passcode: str | None = None
    if isinstance(password, str) and password:
        try:
            passcode = box.decrypt(password)
        except UndecryptableSecretError as exc:
            raise InvalidConfigurationError(
                "configuration.password cannot be decrypted with the configured keys"
            ) from exc
    return StompDestination(
        integration_id=integration.id,
        version=integration.version,
        addresses=_addresses(configuration),
        destination=destination.strip(),
        login=login if isinstance(login, str) and login else None,
        passcode=passcode,
    )
