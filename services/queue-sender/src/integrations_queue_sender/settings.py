"""The queue sender's settings, read from `QUEUE_SENDER_*` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
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
from integrations_common.transports import Transport


class SqsSettings(SettingsSection):
    """How the SQS transport reaches queues (`QUEUE_SENDER_SQS__*`)."""

    endpoint_url: str | None = Field(
        default=None,
        description=(
            "Local and test use only: send every queue's requests to this endpoint (ElasticMQ). "
            "Unset in production, where the endpoint follows from each queue URL."
        ),
    )
    batching: bool = True
    connect_timeout_s: float = Field(default=5.0, gt=0)
    read_timeout_s: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(default=2, ge=1, description="botocore attempts per call")
    max_pool_connections: int = Field(default=32, ge=1)
    max_clients: int = Field(default=256, ge=1)
    concurrency_per_queue: int = Field(default=4, ge=1)
    max_batch_bytes: int = Field(default=262_144, ge=1024)

    @field_validator("endpoint_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


class StompSettings(SettingsSection):
    """How the STOMP transport talks to brokers (`QUEUE_SENDER_STOMP__*`)."""

    connect_timeout_s: float = Field(default=5.0, gt=0)
    receipt_timeout_s: float = Field(default=10.0, gt=0)
    heartbeat_ms: int = Field(default=10_000, ge=0)
    connect_threads: int = Field(default=4, ge=1)
    send_threads: int = Field(default=4, ge=1)
    batch_size: int = Field(default=100, ge=1)
    concurrency_per_destination: int = Field(default=4, ge=1)
    reconnect_backoff_s: float = Field(default=2.0, ge=0)
    idle_timeout_s: float = Field(default=300.0, gt=0)
    max_connections: int = Field(default=512, ge=1)
    tls_ca_file: Path | None = None


class QueueSenderSettings(BaseSettings):
    """Everything the queue sender reads from its environment."""

    model_config = service_config("QUEUE_SENDER_")

    kafka: KafkaSettings = KafkaSettings(client_id="integrations-queue-sender")
    topics: TopicSettings = TopicSettings()
    ops: OpsServerSettings = OpsServerSettings(port=8083)
    log_level: LogLevel = "INFO"
    encryption: EncryptionSettings = EncryptionSettings()
    delivery: DeliverySettings = DeliverySettings()
    transports: list[Transport] = Field(default=[Transport.SQS, Transport.STOMP], min_length=1)
    sqs: SqsSettings = SqsSettings()
    stomp: StompSettings = StompSettings()
    ssrf: SsrfSettings = SsrfSettings()

    @field_validator("transports")
    @classmethod
    def _queue_transports_only(cls, value: list[Transport]) -> list[Transport]:
        if Transport.WEBHOOK in value:
            raise ValueError("the queue sender delivers sqs and stomp only")
        return list(dict.fromkeys(value))
