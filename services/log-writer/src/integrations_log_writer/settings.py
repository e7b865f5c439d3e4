"""The log writer's settings, read from `LOG_WRITER_*` environment variables."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings

from integrations_common.settings import (
    KafkaSettings,
    LogLevel,
    MongoSettings,
    OpsServerSettings,
    TopicSettings,
    service_config,
)


class AutoDisableSettings(BaseModel):
    """When the platform disables an integration whose attempts all fail."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    # Every attempt failed for at least this long (default 5 days) ...
    failing_for_s: float = Field(default=5 * 86_400, gt=0)
    # ... and at least this many jobs failed for good (went to the dead-letter topic).
    min_failed_jobs: int = Field(default=10, ge=1)
    # The `source` of the `integration.updated` event, the API's by default.
    events_source: str = Field(default="urn:integrations-api", min_length=1)
    publish_timeout_s: float = Field(default=5.0, gt=0)


class LogWriterSettings(BaseSettings):
    """Everything the log writer reads from its environment."""

    model_config = service_config("LOG_WRITER_")

    kafka: KafkaSettings = KafkaSettings(client_id="integrations-log-writer")
    topics: TopicSettings = TopicSettings()
    create_topics: bool = True
    mongodb: MongoSettings = MongoSettings()
    ops: OpsServerSettings = OpsServerSettings(port=8084)
    log_level: LogLevel = "INFO"
    group_id: str = Field(default="integrations-log-writer", min_length=1)
    batch_max_records: int = Field(
        default=2_000, ge=1, le=50_000, description="Records consumed and stored per batch."
    )
    batch_timeout_ms: int = Field(default=500, ge=10)
    write_chunk_max: int = Field(
        default=1_000,
        ge=1,
        le=100_000,
        description="Writes per store command; MongoDB takes up to 100,000.",
    )
    store_probe_interval_s: float = Field(default=5, gt=0)
    store_probe_timeout_s: float = Field(default=5, gt=0)
    retention_days: float = Field(default=30, gt=0)
    sweep_interval_s: float = Field(default=3_600, gt=0)
    retry_backoff_max_s: float = Field(default=30, gt=0)
    auto_disable: AutoDisableSettings = AutoDisableSettings()

    @property
    def retention(self) -> timedelta:
        """How long logs and jobs are kept."""
        return timedelta(days=self.retention_days)

    @property
    def failing_for(self) -> timedelta:
        """How long every attempt must have failed before an integration is disabled."""
        return timedelta(seconds=self.auto_disable.failing_for_s)
