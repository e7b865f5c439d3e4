"""The router's settings, read from `ROUTER_*` environment variables."""

from __future__ import annotations

from pydantic_settings import BaseSettings

from integrations_common.settings import (
    KafkaSettings,
    LogLevel,
    OpsServerSettings,
    TopicSettings,
    service_config,
)


class RouterSettings(BaseSettings):
    """Everything the router reads from its environment."""

    model_config = service_config("ROUTER_")

    kafka: KafkaSettings = KafkaSettings(client_id="integrations-router")
    topics: TopicSettings = TopicSettings()
    ops: OpsServerSettings = OpsServerSettings(port=8081)
    log_level: LogLevel = "INFO"
