"""The integrations table: every instance reads the whole compacted config topic into memory.

`load()` reads every partition from the beginning up to the end offsets it saw when it started,
so a (re)started router holds the whole table before it routes anything. `follow()` then keeps
applying new snapshots and tombstones as they arrive (within the consumer's fetch wait, well
under a second). The consumer has no group: each instance reads every partition.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from integrations_common.errors import ConfigurationError, map_exceptions
from integrations_common.integrations import IntegrationSnapshot
from integrations_common.kafka import KAFKA_ERRORS, create_consumer
from integrations_common.settings import KafkaSettings
from integrations_router.index import RoutingIndex
from integrations_router.metrics import CONFIG_REJECTED, INDEX_ENTRIES, TABLE_SIZE

logger = logging.getLogger(__name__)

_METADATA_ATTEMPTS = 40


class IntegrationTable:
    """Keeps a `RoutingIndex` in step with the config topic."""

    def __init__(self, *, kafka: KafkaSettings, topic: str, poll_timeout_ms: int = 200) -> None:
        self._topic = topic
        self._poll_timeout_ms = poll_timeout_ms
        self._kafka = kafka
        self._client: AIOKafkaConsumer | None = None
        self.index = RoutingIndex()
        self.loaded = asyncio.Event()

    async def start(self) -> None:
        """Connect and take every partition of the config topic, from the beginning.

        Without a group, aiokafka assigns every partition of a subscribed topic to this consumer.
        """
        self._client = create_consumer(self._kafka, group_id=None, fetch_max_wait_ms=100)
        with map_exceptions(KAFKA_ERRORS):
            await self._consumer.start()
            self._consumer.subscribe([self._topic])
            for _ in range(_METADATA_ATTEMPTS):
                if self._consumer.assignment():
                    return
                await asyncio.sleep(0.25)
                # A topic created moments ago may be missing from the cached metadata.
                await self._consumer._client.force_metadata_update()
        raise ConfigurationError(f"the config topic {self._topic} does not exist")

    @property
    def _consumer(self) -> AIOKafkaConsumer:
        if self._client is None:
            raise RuntimeError("the integrations table is not started")
        return self._client

    async def stop(self) -> None:
        """Disconnect (safe if never started)."""
        if self._client is not None:
            await self._client.stop()
            self._client = None

    async def load(self) -> int:
        """Read the topic up to its current end; answer how many integrations are held."""
        with map_exceptions(KAFKA_ERRORS):
            partitions = list(self._consumer.assignment())
            ends: dict[TopicPartition, int] = await self._consumer.end_offsets(partitions)
            while True:
                behind = [tp for tp in partitions if await self._consumer.position(tp) < ends[tp]]
                if not behind:
                    break
                batch = await self._consumer.getmany(*behind, timeout_ms=self._poll_timeout_ms)
                self._apply_all(record for records in batch.values() for record in records)
        self._update_gauges()
        self.loaded.set()
        logger.info(
            "integrations table loaded",
            extra={"integrations": len(self.index), "topic": self._topic},
        )
        return len(self.index)

    async def follow(self, stop: asyncio.Event) -> None:
        """Apply changes until `stop` is set."""
        while not stop.is_set():
            with map_exceptions(KAFKA_ERRORS):
                batch = await self._consumer.getmany(timeout_ms=self._poll_timeout_ms)
            self._apply_all(record for records in batch.values() for record in records)

    def _apply_all(self, records: Iterable[Any]) -> None:
        changed = False
        for record in records:
            changed = self._apply(record) or changed
        if changed:
            self._update_gauges()

    def _apply(self, record: Any) -> bool:
        key = record.key.decode("utf-8", "replace") if record.key else None
        if record.value is None:
            if key is None:
                return self._reject(record, "a tombstone without a key")
            removed = self.index.apply(key, None)
            if removed and self.loaded.is_set():
                logger.info("integration removed", extra={"integration_id": key})
            return removed
        try:
            snapshot = IntegrationSnapshot.model_validate_json(record.value)
        except ValidationError as exc:
            return self._reject(record, f"not an integration snapshot: {exc.error_count()} errors")
        if key is not None and key != snapshot.id:
            return self._reject(record, f"the key {key!r} is not the snapshot's id")
        changed = self.index.apply(snapshot.id, snapshot)
        if self.loaded.is_set():
            logger.info(
                "integration applied"
                if changed
                else "integration snapshot ignored (older version)",
                extra={
                    "integration_id": snapshot.id,
                    "version": snapshot.version,
                    "enabled": snapshot.enabled,
                    "tenant": snapshot.tenant.key,
                },
            )
        return changed

    def _reject(self, record: Any, why: str) -> bool:
        CONFIG_REJECTED.inc()
        logger.error(
            "ignored a config record: %s",
            why,
            extra={"partition": record.partition, "offset": record.offset, "topic": self._topic},
        )
        return False

    def _update_gauges(self) -> None:
        enabled = self.index.enabled_count
        TABLE_SIZE.labels(state="enabled").set(enabled)
        TABLE_SIZE.labels(state="disabled").set(len(self.index) - enabled)
        INDEX_ENTRIES.set(self.index.key_count)
