"""The API's settings, read from `API_*` environment variables."""

from __future__ import annotations

from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings

from integrations_api.console.settings import ConsoleSettings
from integrations_common.secret_box import EncryptionSettings
from integrations_common.settings import (
    KafkaSettings,
    LogLevel,
    MongoSettings,
    SettingsSection,
    TopicSettings,
    service_config,
)

HMAC_ALGORITHMS = ("HS256",)
PUBLIC_KEY_ALGORITHMS = ("RS256", "ES256")


class AuthSettings(SettingsSection):
    """How bearer tokens are verified: an HS256 secret, or an RS256/ES256 public key or JWKS URL."""

    jwt_secret: SecretStr | None = None
    public_key: SecretStr | None = None
    jwks_url: str | None = None
    jwks_timeout_s: float = Field(default=5.0, gt=0, le=60)
    audience: str | None = None
    issuer: str | None = None
    leeway_s: int = Field(default=30, ge=0, le=300)
    # Longest accepted `exp - iat`, in seconds; when set, tokens must carry `iat`. None: no cap.
    max_token_lifetime_s: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_key_source(self) -> Self:
        sources = [
            s
            for s in (
                self.jwt_secret and self.jwt_secret.get_secret_value(),
                self.public_key and self.public_key.get_secret_value(),
                self.jwks_url,
            )
            if s
        ]
        if len(sources) > 1:
            raise ValueError("configure only one of jwt_secret, public_key and jwks_url")
        return self

    @property
    def algorithms(self) -> list[str]:
        """The algorithms a token may be signed with, given the configured key source."""
        if self.jwt_secret is not None and self.jwt_secret.get_secret_value():
            return list(HMAC_ALGORITHMS)
        return list(PUBLIC_KEY_ALGORITHMS)

    @property
    def configured(self) -> bool:
        """True when some key source is set."""
        return bool(
            (self.jwt_secret and self.jwt_secret.get_secret_value())
            or (self.public_key and self.public_key.get_secret_value())
            or self.jwks_url
        )


class PaginationSettings(SettingsSection):
    """Page sizes for `page[limit]`."""

    default_limit: int = Field(default=25, ge=1)
    max_limit: int = Field(default=100, ge=1)


class ServerSettings(SettingsSection):
    """Limits of the HTTP server, per process: what one client may hold, and for how long."""

    # Request line plus headers, in bytes; more is 431 (a JWT is ~1 KiB).
    max_header_bytes: int = Field(default=16 * 1024, ge=1024, le=1024 * 1024)
    # From the connection (or a keep-alive request's first byte) to the end of its headers;
    # then 408 and the connection is closed (an idle connection is closed without a word).
    header_timeout_s: float = Field(default=10.0, gt=0, le=300)
    # From the end of the headers to the end of the body; then 408 and close.
    body_timeout_s: float = Field(default=30.0, gt=0, le=600)
    # How long an idle keep-alive connection stays open between requests.
    keep_alive_timeout_s: int = Field(default=5, ge=1, le=300)
    # Open connections per process; a request on a connection beyond it is answered 503 with
    # Retry-After (except /healthz, /readyz and /metrics, so probes still see the process).
    max_connections: int = Field(default=1000, ge=1)
    # How long SIGTERM waits for in-flight requests before closing them.
    graceful_shutdown_timeout_s: int = Field(default=10, ge=0, le=300)


class RateLimitSettings(SettingsSection):
    """A token bucket per tenant and per API process: over it, 429 with `Retry-After`.

    Each replica (process) counts on its own, so a tenant may get up to `replicas x` these
    rates across a load-balanced deployment.
    """

    enabled: bool = True
    # Sustained authenticated requests per second a tenant may make (the refill rate).
    requests_per_s: float = Field(default=50.0, gt=0)
    # Requests a tenant may make at once after being idle (the bucket's size).
    burst: int = Field(default=100, ge=1)
    # Tenants whose buckets are kept; beyond it the least recently seen one starts afresh.
    max_tenants: int = Field(default=100_000, ge=1)


class PublishingSettings(SettingsSection):
    """How config snapshots and integration events reach Kafka."""

    timeout_s: float = Field(default=5.0, gt=0)
    reconcile_interval_s: float = Field(default=5.0, gt=0)
    republish_all_at_startup: bool = True
    events_source: str = Field(default="urn:integrations-api", min_length=1)


class ApiSettings(BaseSettings):
    """Everything the API reads from its environment (`API_MONGODB__URI`, `API_PORT`, ...)."""

    model_config = service_config("API_")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65_535)
    kafka: KafkaSettings = KafkaSettings(client_id="integrations-api")
    topics: TopicSettings = TopicSettings()
    create_topics: bool = True
    mongodb: MongoSettings = MongoSettings()
    auth: AuthSettings = AuthSettings()
    encryption: EncryptionSettings = EncryptionSettings()
    pagination: PaginationSettings = PaginationSettings()
    publishing: PublishingSettings = PublishingSettings()
    rate_limit: RateLimitSettings = RateLimitSettings()
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    server: ServerSettings = ServerSettings()
    console: ConsoleSettings = ConsoleSettings()
    log_level: LogLevel = "INFO"
