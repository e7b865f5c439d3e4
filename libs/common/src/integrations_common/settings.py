"""Settings sections shared by the services.

Each service composes these into its one `BaseSettings` class with its own environment prefix,
for example `ROUTER_KAFKA__BOOTSTRAP_SERVERS`.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import SettingsConfigDict

from integrations_common.address_policy import AddressPolicy, IPNetwork, parse_networks
from integrations_common.transports import Transport


class SettingsSection(BaseModel):
    """A nested section of a service's settings (`<PREFIX>_<SECTION>__<FIELD>`): unknown fields
    are refused, and the values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SecurityProtocol(StrEnum):
    """Kafka security protocols."""

    PLAINTEXT = "PLAINTEXT"
    SSL = "SSL"
    SASL_PLAINTEXT = "SASL_PLAINTEXT"
    SASL_SSL = "SASL_SSL"


class SaslMechanism(StrEnum):
    """Kafka SASL mechanisms the platform supports."""

    PLAIN = "PLAIN"
    SCRAM_SHA_256 = "SCRAM-SHA-256"
    SCRAM_SHA_512 = "SCRAM-SHA-512"


class KafkaSettings(SettingsSection):
    """How to reach Kafka."""

    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: SecurityProtocol = SecurityProtocol.PLAINTEXT
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    client_id: str = "integrations"
    request_timeout_ms: int = Field(default=30_000, gt=0)
    session_timeout_ms: int = Field(
        default=6_000,
        ge=1_000,
        description="A group member that sends no heartbeat for this long is removed and its "
        "partitions go to the others: how long a killed process's partitions wait. At least the "
        "broker's group.min.session.timeout.ms (6 s by default).",
    )
    heartbeat_interval_ms: int = Field(
        default=1_000,
        ge=100,
        description="Heartbeats to the group coordinator; below a third of the session timeout.",
    )
    group_instance_id: str | None = Field(
        default=None,
        max_length=249,
        description="Static group membership (KIP-345): a stable name for this process, unique "
        "among the replicas of a service (on Kubernetes, the pod name). A process restarted "
        "with the same name within the session timeout takes back its partitions without a "
        "rebalance; a graceful stop leaves the group at once. Unset: dynamic membership.",
    )
    rebalance_timeout_ms: int = Field(
        default=20_000,
        ge=1_000,
        description="How long a rebalance waits for members to rejoin; a member first finishes "
        "the jobs of its revoked partitions (up to the delivery shutdown grace, 15 s). Keep it "
        "below request_timeout_ms: a join request waits for the rebalance.",
    )

    @field_validator("bootstrap_servers")
    @classmethod
    def _normalise_servers(cls, value: str) -> str:
        servers = [s.strip() for s in value.replace(";", ",").split(",") if s.strip()]
        if not servers:
            raise ValueError("at least one bootstrap server is required")
        for server in servers:
            host, sep, port = server.rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(f"'{server}' is not host:port")
        return ",".join(servers)

    @field_validator("group_instance_id", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("security_protocol", "sasl_mechanism", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _sasl_is_complete(self) -> Self:
        uses_sasl = self.security_protocol in (
            SecurityProtocol.SASL_PLAINTEXT,
            SecurityProtocol.SASL_SSL,
        )
        if uses_sasl and not (self.sasl_mechanism and self.sasl_username and self.sasl_password):
            raise ValueError(
                f"{self.security_protocol} needs sasl_mechanism, sasl_username and sasl_password"
            )
        return self

    @model_validator(mode="after")
    def _heartbeats_fit_the_session(self) -> Self:
        if self.heartbeat_interval_ms * 3 > self.session_timeout_ms:
            raise ValueError("heartbeat_interval_ms must be at most a third of session_timeout_ms")
        return self


DEAD_LETTER_SUFFIX = ".dlq"
SLOW_LANE_SUFFIX = ".slow"


class TopicSettings(SettingsSection):
    """Topic names (defaults from the architecture contract) and how to create them."""

    events: str = "commerce.events"
    events_dlq: str = "commerce.events.dlq"
    config: str = "integrations.config"
    deliveries_prefix: str = "integrations.deliveries"
    logs: str = "integrations.logs"
    partitions: int = Field(default=6, ge=1)
    replication_factor: int = Field(default=1, ge=1)

    def deliveries(self, transport: Transport) -> str:
        """The deliveries topic of one transport."""
        return f"{self.deliveries_prefix}.{transport.value}"

    def dead_letters(self, transport: Transport) -> str:
        """The dead-letter topic of one transport's deliveries."""
        return f"{self.deliveries(transport)}{DEAD_LETTER_SUFFIX}"

    def slow_lane(self, transport: Transport) -> str:
        """The slow lane's topic (pointers to set-aside jobs) of one transport's deliveries."""
        return f"{self.deliveries(transport)}{SLOW_LANE_SUFFIX}"


class MongoSettings(SettingsSection):
    """How to reach the MongoDB-compatible store."""

    uri: SecretStr = SecretStr("mongodb://127.0.0.1:27017")
    database: str = Field(default="integrations", min_length=1, max_length=63)
    server_selection_timeout_ms: int = Field(default=5_000, gt=0)
    timeout_ms: int = Field(
        default=10_000,
        gt=0,
        description="Each operation's deadline (PyMongo `timeoutMS`), retries included.",
    )


class SsrfSettings(SettingsSection):
    """The SSRF guard of a sender: on by default; `allow_cidrs` opens specific ranges (e.g. the
    loopback range for local demos and tests)."""

    enabled: bool = True
    allow_cidrs: str = Field(default="", description="Comma-separated CIDRs that are allowed.")

    @field_validator("allow_cidrs")
    @classmethod
    def _valid_cidrs(cls, value: str) -> str:
        return ",".join(str(n) for n in parse_networks(value))

    @property
    def allowed_networks(self) -> tuple[IPNetwork, ...]:
        """The parsed allow-list."""
        return parse_networks(self.allow_cidrs)

    def policy(self) -> AddressPolicy:
        """The address policy these settings describe."""
        return AddressPolicy(enabled=self.enabled, allow=self.allowed_networks)


class OpsServerSettings(SettingsSection):
    """Where a service serves `/healthz`, `/readyz` and `/metrics`."""

    host: str = "127.0.0.1"
    port: int = Field(default=8081, ge=0, le=65_535)


LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


def normalise_log_level(value: object) -> str:
    """Accept `info`, `INFO` or a number; answer a canonical level name."""
    if isinstance(value, int):
        return logging.getLevelName(value)
    text = str(value).strip().upper()
    if text not in LOG_LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LOG_LEVELS)}")
    return text


LogLevel = Annotated[str, BeforeValidator(normalise_log_level)]


def service_config(env_prefix: str) -> SettingsConfigDict:
    """The settings behaviour every service shares: a prefix, `__` for sections, no unknown keys."""
    return SettingsConfigDict(
        env_prefix=env_prefix,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )
