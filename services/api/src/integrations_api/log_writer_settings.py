"""The log writer's settings, read from `LOG_WRITER_*` environment variables."""

from __future__ import annotations

from pydantic_settings import BaseSettings

from integrations_common.settings import (
    KafkaSettings,
    LogLevel,
    MongoSettings,
    OpsServerSettings,
    TopicSettings,
    service_config,
)


class LogWriterSettings(BaseSettings):
    """Everything the log writer reads from its environment."""

    model_config = service_config("LOG_WRITER_")

    kafka: KafkaSettings = KafkaSettings(client_id="integrations-log-writer")
    topics: TopicSettings = TopicSettings()
    mongodb: MongoSettings = MongoSettings()
    ops: OpsServerSettings = OpsServerSettings(port=8084)
    log_level: LogLevel = "INFO"
