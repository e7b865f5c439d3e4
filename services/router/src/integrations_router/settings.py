"""The router's settings, read from `ROUTER_*` environment variables."""

from __future__ import annotations

from pydantic import Field
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
    create_topics: bool = True
    group_id: str = Field(default="integrations-router", min_length=1)
    max_batch: int = Field(default=1_000, ge=1, le=100_000)
    poll_timeout_ms: int = Field(default=200, ge=1, le=10_000)
    session_timeout_ms: int | None = Field(
        default=None, ge=1_000, description="Overrides the kafka section's (the default)."
    )
    heartbeat_interval_ms: int | None = Field(
        default=None, ge=100, description="Overrides the kafka section's (the default)."
    )
    send_retry_max_s: float = Field(default=5.0, gt=0)
    max_job_bytes: int = Field(default=1_000_000, ge=1_024)
    max_dead_letter_bytes: int = Field(
        default=1_000_000,
        ge=1_024,
        description="A dead letter larger than this keeps the head of its value that fits "
        "(keep it below the dead-letter topic's max.message.bytes).",
    )
    stall_after_s: float = Field(
        default=60.0,
        gt=0,
        description="A batch that Kafka has not acknowledged for this long makes /readyz fail.",
    )
