"""Reads a topic from its beginning to the end it had when reading began (no consumer group)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from integrations_common.errors import map_exceptions
from integrations_common.kafka import KAFKA_ERRORS, connection_options
from integrations_common.settings import KafkaSettings

POLL_MS = 1_000


async def read_all(settings: KafkaSettings, topic: str) -> AsyncIterator[ConsumerRecord]:
    """Every record of `topic` up to its current end, partition by partition order kept."""
    consumer = AIOKafkaConsumer(
        **connection_options(settings),
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    with map_exceptions(KAFKA_ERRORS):
        try:
            await consumer.start()
            # Without a subscription the cached metadata holds no topic: fetch it.
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
            tps = [TopicPartition(topic, p) for p in sorted(partitions)]
            if not tps:
                return
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            left = {tp for tp in tps if ends[tp] > await consumer.position(tp)}
            while left:
                batches = await consumer.getmany(*left, timeout_ms=POLL_MS)
                for tp, records in batches.items():
                    for record in records:
                        if record.offset < ends[tp]:
                            yield record
                for tp in list(left):
                    if await consumer.position(tp) >= ends[tp]:
                        left.discard(tp)
        finally:
            await consumer.stop()
