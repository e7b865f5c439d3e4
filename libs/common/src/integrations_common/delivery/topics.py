"""The topics a sender needs: its deliveries topic, one topic per retry tier, dead letters, logs."""

from __future__ import annotations

from integrations_common.delivery.aside import slow_topic
from integrations_common.delivery.disposition import dead_letter_topic
from integrations_common.delivery.schedule import RetrySchedule
from integrations_common.kafka import TopicSpec
from integrations_common.settings import TopicSettings, Transport

_DAY_MS = 86_400_000
_MIN_RETENTION_MS = 7 * _DAY_MS


def delivery_topic_specs(
    *, topics: TopicSettings, transport: Transport, schedule: RetrySchedule
) -> list[TopicSpec]:
    """Specs of every topic a sender of `transport` reads or writes.

    Tier topics keep records for at least a week and at least three times their delay; the
    slow lane's topic (pointers to set-aside jobs) a week; the dead-letter topic forever.
    """
    deliveries = topics.deliveries(transport)

    def spec(name: str, **config: str) -> TopicSpec:
        return TopicSpec(name, topics.partitions, topics.replication_factor, dict(config))

    tiers = [
        spec(name, **{"retention.ms": str(max(_MIN_RETENTION_MS, delay * 3000))})
        for name, delay in zip(schedule.tier_topics(deliveries), schedule.delays, strict=True)
    ]
    return [
        spec(deliveries),
        *tiers,
        spec(slow_topic(deliveries), **{"retention.ms": str(_MIN_RETENTION_MS)}),
        spec(dead_letter_topic(deliveries), **{"retention.ms": "-1"}),
        spec(topics.logs),
    ]
