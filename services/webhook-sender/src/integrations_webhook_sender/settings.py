"""The webhook sender's settings, read from `WEBHOOK_SENDER_*` environment variables."""

from __future__ import annotations

from pydantic_settings import BaseSettings

from integrations_common.settings import (
    KafkaSettings,
    LogLevel,
    OpsServerSettings,
    TopicSettings,
    service_config,
)


class WebhookSenderSettings(BaseSettings):
    """Everything the webhook sender reads from its environment."""

    model_config = service_config("WEBHOOK_SENDER_")

    kafka: KafkaSettings = KafkaSettings(client_id="integrations-webhook-sender")
    topics: TopicSettings = TopicSettings()
    ops: OpsServerSettings = OpsServerSettings(port=8082)
    log_level: LogLevel = "INFO"
