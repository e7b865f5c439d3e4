"""The one catalogue of the platform's Kafka topics, with the settings each is created with.

Every topic is named from `TopicSettings` (the architecture contract's defaults). The services
create what they use at start-up (if asked), the tests and benchmarks create and delete theirs
from here, and the Helm chart's topic Job runs `integrations-create-topics`, which creates
`platform_topics`. Retry tiers depend on a sender's schedule, so each sender creates its own
(`delivery_topic_specs`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from integrations_common.kafka import TopicSpec
from integrations_common.settings import TopicSettings
from integrations_common.transports import Transport

if TYPE_CHECKING:  # the delivery package imports this module
    from integrations_common.delivery.schedule import RetrySchedule

_DAY_MS = 86_400_000
_MIN_RETENTION_MS = 7 * _DAY_MS
_FOREVER = {"retention.ms": "-1"}


def _spec(topics: TopicSettings, name: str, config: Mapping[str, str] | None = None) -> TopicSpec:
    return TopicSpec(name, topics.partitions, topics.replication_factor, dict(config or {}))


def transport_topics(
    topics: TopicSettings, transport: Transport, schedule: RetrySchedule | None = None
) -> list[TopicSpec]:
    """One transport's topics: deliveries, the retry tiers of `schedule` (if given), the slow
    lane and the dead letters.

    Tier topics keep records for at least a week and at least three times their delay; the slow
    lane's topic (pointers to set-aside jobs) a week; the dead-letter topic forever.
    """
    deliveries = topics.deliveries(transport)
    tiers = []
    if schedule is not None:
        tiers = [
            _spec(topics, name, {"retention.ms": str(max(_MIN_RETENTION_MS, delay * 3000))})
            for name, delay in zip(schedule.tier_topics(deliveries), schedule.delays, strict=True)
        ]
    return [
        _spec(topics, deliveries),
        *tiers,
        _spec(topics, topics.slow_lane(transport), {"retention.ms": str(_MIN_RETENTION_MS)}),
        _spec(topics, topics.dead_letters(transport), _FOREVER),
    ]


def platform_topics(
    topics: TopicSettings, *, schedules: Mapping[Transport, RetrySchedule] | None = None
) -> list[TopicSpec]:
    """Every topic of the architecture contract; retry tiers only for the `schedules` given."""
    schedules = schedules or {}
    return [
        _spec(topics, topics.events),
        _spec(topics, topics.events_dlq, _FOREVER),
        _spec(topics, topics.config, {"cleanup.policy": "compact"}),
        _spec(topics, topics.logs),
        *(
            spec
            for transport in Transport
            for spec in transport_topics(topics, transport, schedules.get(transport))
        ),
    ]


def delivery_topic_specs(
    *, topics: TopicSettings, transport: Transport, schedule: RetrySchedule
) -> list[TopicSpec]:
    """Every topic a sender of `transport` reads or writes: its own, and the logs topic."""
    return [*transport_topics(topics, transport, schedule), _spec(topics, topics.logs)]
