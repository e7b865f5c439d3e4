"""Publishes config snapshots and queued integration events, then marks the document.

No transaction spans MongoDB and Kafka, so every write leaves its document `pending` with its
events in an `outbox` (one atomic document update). Publishing sends the document's *current*
state (or a tombstone), sends the queued events, and marks the version published only if the
document still has that version; otherwise it publishes again. A publish that fails leaves the
document pending for the reconciler. This keeps the newest version last on the compacted topic.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from integrations_common.errors import BrokerUnavailableError, StoreUnavailableError
from integrations_common.events import CLOUDEVENTS_CONTENT_TYPE
from integrations_common.settings import TopicSettings
from integrations_common.store.integrations import IntegrationStore
from integrations_common.store.mongo import raise_if_cancelled
from integrations_common.store.records import IntegrationRecord
from integrations_common.tracing import current_headers

logger = logging.getLogger(__name__)

MAX_ROUNDS = 10


@dataclass(frozen=True, kw_only=True)
class ConfigPublisher:
    """Brings the config topic (and the events topic) up to date with one integration."""

    producer: AIOKafkaProducer
    store: IntegrationStore
    topics: TopicSettings
    timeout_s: float

    async def _send(self, topic: str, key: str, value: bytes | None, *, event: bool) -> None:
        headers = (
            [("content-type", CLOUDEVENTS_CONTENT_TYPE.encode()), *current_headers()]
            if event
            else None
        )
        try:
            async with asyncio.timeout(self.timeout_s):
                await self.producer.send_and_wait(
                    topic, value=value, key=key.encode(), headers=headers
                )
        except (KafkaError, TimeoutError) as exc:
            raise BrokerUnavailableError(f"cannot publish to {topic}") from exc

    async def _publish(self, record: IntegrationRecord, *, with_events: bool) -> list[str]:
        value = None if record.deleted else record.snapshot().model_dump_json().encode()
        await self._send(self.topics.config, record.id, value, event=False)
        sent: list[str] = []
        if with_events:
            for event_id, entry in sorted(record.outbox.items(), key=lambda kv: kv[1]["seq"]):
                await self._send(
                    self.topics.events, record.id, str(entry["event"]).encode(), event=True
                )
                sent.append(event_id)
        return sent

    async def sync(self, integration_id: str, *, with_events: bool = True) -> None:
        """Publish until the topic holds the document's current version (raises if it cannot)."""
        record = await self.store.raw(integration_id)
        for _ in range(MAX_ROUNDS):
            if record is None:
                await self._send(self.topics.config, integration_id, None, event=False)
                return
            sent = await self._publish(record, with_events=with_events)
            await self.store.drop_outbox(integration_id=record.id, event_ids=sent)
            if await self.store.mark_published(integration_id=record.id, version=record.version):
                if record.deleted:
                    await self.store.purge(integration_id=record.id, version=record.version)
                return
            record = await self.store.raw(integration_id)
        raise BrokerUnavailableError(f"integration {integration_id} keeps changing; retry later")

    async def try_sync(self, integration_id: str) -> bool:
        """`sync`, leaving a failure to the reconciler; answers whether it succeeded."""
        try:
            await self.sync(integration_id)
        except (BrokerUnavailableError, StoreUnavailableError) as exc:
            raise_if_cancelled()
            logger.warning(
                "publish deferred to the reconciler",
                extra={"integration_id": integration_id, "reason": str(exc)},
            )
            return False
        return True

    async def reconcile(self, *, everything: bool = False) -> int:
        """Publish every pending document (or every document); answers how many were synced."""
        done = 0
        for integration_id in await self.store.ids(pending_only=not everything):
            if await self.try_sync(integration_id):
                done += 1
        return done


async def run_reconciler(
    publisher: ConfigPublisher, *, interval_s: float, republish_all_first: bool
) -> None:
    """Republish everything once (if asked), then repair pending documents forever."""
    everything = republish_all_first
    while True:
        try:
            synced = await publisher.reconcile(everything=everything)
            if synced:
                logger.info("reconciled integrations", extra={"count": synced, "full": everything})
            everything = False
        except StoreUnavailableError as exc:
            raise_if_cancelled()
            logger.warning("reconciler cannot read the store", extra={"reason": str(exc)})
        # PyMongo may also absorb a cancellation whole (the operation just returns); the task
        # still counts as cancelling, so stop here instead of sleeping through the stop.
        raise_if_cancelled()
        await asyncio.sleep(interval_s)
