"""The webhook sender's settings, read from `WEBHOOK_SENDER_*` environment variables."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings

from integrations_common.delivery import DeliverySettings
from integrations_common.secret_box import EncryptionSettings
from integrations_common.settings import (
    KafkaSettings,
    LogLevel,
    OpsServerSettings,
    SettingsSection,
    SsrfSettings,
    TopicSettings,
    service_config,
)
from integrations_webhook_sender.request import BodySecret

PRODUCT = "Integrations-Webhooks"


def default_user_agent() -> str:
    """`Integrations-Webhooks/<version>`: names the product to receivers."""
    return f"{PRODUCT}/{version('integrations-webhook-sender')}"


class HttpSettings(SettingsSection):
    """The shared HTTP client: limits, timeouts and what is sent."""

    timeout_s: float = Field(
        default=10.0, gt=0, le=60, description="Total time for one attempt (spec: 10 s)."
    )
    max_body_bytes: int = Field(
        default=64 * 1024, ge=0, le=1024 * 1024, description="Response bytes read and logged."
    )
    max_connections: int = Field(default=512, ge=1, description="Requests in flight, overall.")
    max_per_host: int = Field(default=64, ge=1, description="Requests in flight per host:port.")
    keepalive_s: float = Field(default=30.0, gt=0, description="Idle connection lifetime.")
    dns_cache_s: int = Field(default=10, ge=0, description="How long checked DNS answers live.")
    user_agent: str = Field(default_factory=default_user_agent, min_length=1)
    body_secret: BodySecret = Field(
        default=BodySecret.PLAIN,
        description="configuration.secret_key in the body: plain (as in the spec), masked, omit.",
    )
    ca_file: Path | None = Field(default=None, description="Extra CA bundle for receivers' TLS.")


class WebhookSenderSettings(BaseSettings):
    """Everything the webhook sender reads from its environment."""

    model_config = service_config("WEBHOOK_SENDER_")

    kafka: KafkaSettings = KafkaSettings(client_id="integrations-webhook-sender")
    topics: TopicSettings = TopicSettings()
    ops: OpsServerSettings = OpsServerSettings(port=8082)
    delivery: DeliverySettings = DeliverySettings()
    http: HttpSettings = HttpSettings()
    ssrf: SsrfSettings = SsrfSettings()
    encryption: EncryptionSettings = EncryptionSettings()
    log_level: LogLevel = "INFO"
