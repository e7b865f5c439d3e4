"""The API's settings, read from `API_*` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings

from integrations_common.settings import (
    KafkaSettings,
    LogLevel,
    MongoSettings,
    TopicSettings,
    service_config,
)


class ApiSettings(BaseSettings):
    """Everything the API reads from its environment (`API_MONGODB__URI`, `API_PORT`, ...)."""

    model_config = service_config("API_")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65_535)
    kafka: KafkaSettings = KafkaSettings(client_id="integrations-api")
    topics: TopicSettings = TopicSettings()
    mongodb: MongoSettings = MongoSettings()
    log_level: LogLevel = "INFO"
