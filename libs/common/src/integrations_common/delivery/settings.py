"""The `delivery` settings section every sender composes (retries, batching, breaker)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from integrations_common.delivery.schedule import DEFAULT_SCHEDULE, RetrySchedule


class DeliverySettings(BaseModel):
    """How a sender consumes, batches, retries and protects itself from failing destinations.

    Environment example (webhook sender): `WEBHOOK_SENDER_DELIVERY__RETRY_SCHEDULE=5s,30s,2m`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    retry_schedule: str = Field(
        default=DEFAULT_SCHEDULE,
        description="Comma-separated increasing delays (s, m, h, d); one retry tier topic each.",
    )
    batch_size: int = Field(default=32, ge=1, le=10_000, description="Jobs per transport call.")
    concurrency: int = Field(
        default=512,
        ge=1,
        description="Fast-lane jobs in flight per process (reading pauses while it is full).",
    )
    integration_concurrency: int = Field(
        default=64,
        ge=1,
        description="Jobs one integration may hold; its further jobs are set aside (slow lane).",
    )
    slow_lane_concurrency: int = Field(
        default=512,
        ge=1,
        description="Jobs in flight longer than slow_after_s, per process.",
    )
    slow_after_s: float = Field(
        default=2.0, gt=0, description="In flight this long, a job moves to the slow lane."
    )
    lane_wait_s: float = Field(
        default=1.0,
        ge=0,
        description="After jobs were set aside for want of room, newer ones follow them this long.",
    )
    fetch_partition_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=64 * 1024,
        description=(
            "Bytes one fetch may bring per partition (a fetch in all stays under aiokafka's "
            "50 MiB). Larger reads through a queued burst with less CPU: `python -m "
            "bench.burst_bench` (docs/benchmarks.md)."
        ),
    )
    poll_timeout_ms: int = Field(default=200, ge=1, description="Longest wait for new records.")
    consumer_group: str | None = Field(
        default=None, description="Kafka consumer group; default integrations-<transport>-sender."
    )
    create_topics: bool = Field(
        default=True, description="Create the deliveries, tier, dead-letter and log topics."
    )
    breaker_failure_threshold: int = Field(
        default=5, ge=1, description="Consecutive failures that open an integration's circuit."
    )
    breaker_open_s: float = Field(
        default=30.0, gt=0, description="How long a circuit stays open before one probe."
    )
    breaker_max_open_s: float = Field(
        default=600.0, gt=0, description="Cap of the open time, which doubles per failed probe."
    )
    skip_rate_per_s: float = Field(
        default=500.0,
        ge=0,
        description=(
            "Skips of open circuits (each writes a log and a retry record) per second per "
            "process, so a failing destination's waves of skips cannot starve healthy "
            "deliveries; 0 = unpaced."
        ),
    )
    max_retry_after_s: float = Field(
        default=86_400.0, gt=0, description="Longest receiver Retry-After that is honoured."
    )
    shutdown_grace_s: float = Field(
        default=15.0,
        ge=0,
        description=(
            "How long a revoke or a stop waits for requests already started (jobs not started "
            "are handed over unattempted)."
        ),
    )
    produce_retry_s: float = Field(
        default=1.0, gt=0, description="Pause between attempts to write outcomes to Kafka."
    )

    @field_validator("retry_schedule")
    @classmethod
    def _valid_schedule(cls, value: str) -> str:
        return str(RetrySchedule.parse(value))

    @property
    def schedule(self) -> RetrySchedule:
        """The parsed retry schedule."""
        return RetrySchedule.parse(self.retry_schedule)
