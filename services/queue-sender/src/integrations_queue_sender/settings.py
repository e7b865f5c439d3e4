"""The queue sender's settings, read from `QUEUE_SENDER_*` environment variables."""

from __future__ import annotations

from pydantic_settings import BaseSettings

from integrations_common.settings import (
    KafkaSettings,
    LogLevel,
    OpsServerSettings,
    TopicSettings,
    service_config,
)


class QueueSenderSettings(BaseSettings):
    """Everything the queue sender reads from its environment."""

    model_config = service_config("QUEUE_SENDER_")

    kafka: KafkaSettings = KafkaSettings(client_id="integrations-queue-sender")
    topics: TopicSettings = TopicSettings()
    ops: OpsServerSettings = OpsServerSettings(port=8083)
    log_level: LogLevel = "INFO"
