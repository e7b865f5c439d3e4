"""Delivery machinery shared by the senders: the transport interface, retries and attempt logs.

A sender supplies only a `DeliveryTransport` (one outcome per job, never raising for a failed
delivery); `DeliveryWorker` does everything else, identically for every transport:

    from integrations_common.delivery import DeliverySettings, DeliveryWorker
    from integrations_common.transports import Transport

    class QueueSenderSettings(BaseSettings):
        kafka: KafkaSettings = KafkaSettings(client_id="integrations-queue-sender")
        topics: TopicSettings = TopicSettings()
        # e.g. QUEUE_SENDER_DELIVERY__RETRY_SCHEDULE=5s,30s,2m
        delivery: DeliverySettings = DeliverySettings()

    async def worker(stop: asyncio.Event) -> None:
        sqs = DeliveryWorker(
            transport=Transport.SQS,        # topics, metric labels, default consumer group
            deliverer=MySqsTransport(...),  # a DeliveryTransport; the worker closes it
            kafka=settings.kafka,
            topics=settings.topics,
            settings=settings.delivery,
        )
        await sqs.run(stop)                        # returns after `stop` is set and work is drained

    # several transports in one process: one worker each, e.g.
    # await asyncio.gather(sqs.run(stop), stomp.run(stop)); `worker.ready` feeds /readyz.

What `run` does:
- creates (unless `settings.create_topics` is false) `<deliveries>`, one tier topic
  `<deliveries>.retry.<delay>` per schedule delay, `<deliveries>.slow`, `<deliveries>.dlq` and the
  logs topic, where
  `<deliveries>` is `topics.deliveries(transport)`, e.g. `integrations.deliveries.sqs`;
- consumes the deliveries topic, every tier topic and `<deliveries>.slow` with one consumer group
  (`settings.consumer_group`, default `integrations-<transport>-sender`), calling
  `deliverer.deliver(batch)` with up to `settings.batch_size` jobs of one integration per call;
- isolates integrations: each holds at most `settings.integration_concurrency` jobs, and its
  further jobs are set aside by reference (a pointer on `<deliveries>.slow`) and attempted when it
  has room; reading pauses only while `settings.concurrency` jobs younger than
  `settings.slow_after_s` are in flight (older ones count against
  `settings.slow_lane_concurrency`); see docs/architecture.md, "Isolation";
- pauses a partition whose next job is not due (`not_before`) and resumes it when it is;
- skips (outcome `skipped`, no call) jobs of an integration whose circuit is open
  (`breaker_failure_threshold` consecutive failures; one probe after `breaker_open_s`,
  doubling up to `breaker_max_open_s`);
- per job writes exactly one `AttemptLog` to `topics.logs` (key = job id) and, on failure, the
  job with `attempt + 1` to the next tier (`next_tier` honours `outcome.retry_after`, capped by
  `max_retry_after_s`) or, after the last tier or on `outcome.give_up`, to `.dlq` (header
  `x-job-status: failed`, `x-dead-letter-reason`); records that are not jobs go to `.dlq` too;
- commits a partition's offset only after every earlier record's writes (or its set-aside
  pointer) were acknowledged;
- on a revoke or a stop, hands over the jobs whose request has not started (the transport asks
  `may_start()` before each request and answers `not_started()` when told no): they are set
  aside by reference for the partition's next owner, without an attempt, so only requests
  already started are waited for; see docs/reliability.md, "Graceful handover".

Metrics (label `transport`): `integrations_delivery_attempts_total{outcome,status_class}`,
`integrations_delivery_latency_seconds` (event time to success),
`integrations_delivery_attempt_duration_seconds`, `integrations_delivery_in_flight`,
`integrations_delivery_retry_tier_lag_seconds{tier}`, `integrations_delivery_open_circuits`,
`integrations_delivery_dead_letters_total{reason}`,
`integrations_delivery_unreadable_records_total`, `integrations_delivery_slow_lane`,
`integrations_delivery_set_aside_total`, `integrations_delivery_set_aside_missing_total`,
`integrations_delivery_handed_over_total`.
"""

from integrations_common.delivery.breaker import CircuitBreaker
from integrations_common.delivery.disposition import (
    DEAD_LETTER_REASON_HEADER,
    JOB_STATUS_HEADER,
    DeadLetterReason,
    Disposition,
    dead_letter_topic,
    decide,
)
from integrations_common.delivery.schedule import DEFAULT_SCHEDULE, RetrySchedule
from integrations_common.delivery.settings import DeliverySettings
from integrations_common.delivery.transport import (
    DeliveryOutcome,
    DeliveryTransport,
    Verdict,
    failed,
    may_start,
    not_started,
)
from integrations_common.delivery.worker import DeliveryWorker
from integrations_common.topic_catalogue import delivery_topic_specs

__all__ = [
    "DEAD_LETTER_REASON_HEADER",
    "DEFAULT_SCHEDULE",
    "JOB_STATUS_HEADER",
    "CircuitBreaker",
    "DeadLetterReason",
    "DeliveryOutcome",
    "DeliverySettings",
    "DeliveryTransport",
    "DeliveryWorker",
    "Disposition",
    "RetrySchedule",
    "Verdict",
    "dead_letter_topic",
    "decide",
    "delivery_topic_specs",
    "failed",
    "may_start",
    "not_started",
]
