"""The producer kit: publish commerce events to Kafka as CloudEvents in structured mode.

    async with EventPublisher(kafka=settings.kafka, topic=settings.topics.events) as publisher:
        await publisher.publish(event)              # returns once Kafka has acknowledged it
        await publisher.publish_many(events)        # sent as batches, acknowledged together

The producer waits for every in-sync replica (`acks=all`) and is idempotent, so its own retries
never write duplicates. Concurrent `publish` calls share batches (`linger_ms`). Each event is
validated against the catalogue first, so producers learn about a bad event at once instead of
finding it later on the dead-letter topic.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from types import TracebackType
from typing import Any, Self

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from integrations_common.cloudevents_codec import encode_structured, validate_event
from integrations_common.errors import BrokerUnavailableError, map_exceptions
from integrations_common.events import CommerceEvent
from integrations_common.kafka import KAFKA_ERRORS, create_producer
from integrations_common.settings import KafkaSettings
from integrations_common.tracing import current_headers


class PublishError(BrokerUnavailableError):
    """An event could not be written to Kafka; publishing it again may succeed."""


_PUBLISH_ERRORS = {KafkaError: PublishError}


def event_key(event: CommerceEvent) -> bytes:
    """The record key: the resource id when the event names one, else the event id."""
    resource_id = event.resource.get("id")
    return str(resource_id if resource_id else event.id).encode()


class EventPublisher:
    """A small async publisher of commerce events to one topic."""

    def __init__(
        self,
        *,
        kafka: KafkaSettings,
        topic: str,
        linger_ms: int = 5,
        max_batch_size: int = 256 * 1024,
        producer: AIOKafkaProducer | None = None,
    ) -> None:
        self._topic = topic
        self._owns_producer = producer is None
        self._producer = producer or create_producer(
            kafka, linger_ms=linger_ms, max_batch_size=max_batch_size
        )
        self._started = False

    @property
    def topic(self) -> str:
        """Where events go."""
        return self._topic

    async def start(self) -> None:
        """Connect to Kafka."""
        if self._owns_producer and not self._started:
            with map_exceptions(KAFKA_ERRORS):
                await self._producer.start()
        self._started = True

    async def stop(self) -> None:
        """Deliver what is buffered and disconnect."""
        if self._owns_producer and self._started:
            await self._producer.stop()
        self._started = False

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _enqueue(self, event: CommerceEvent, key: bytes | None) -> asyncio.Future[Any]:
        value, headers = encode_structured(validate_event(event))
        headers += current_headers()
        future: asyncio.Future[Any] = await self._producer.send(
            self._topic, value=value, key=key or event_key(event), headers=headers
        )
        return future

    async def publish(self, event: CommerceEvent, *, key: bytes | None = None) -> None:
        """Publish one event and wait until Kafka has acknowledged it.

        Raises `InvalidEventError` for an event the router would reject, `PublishError` when
        Kafka did not take it.
        """
        with map_exceptions(_PUBLISH_ERRORS):
            future = await self._enqueue(event, key)
            await future

    async def publish_many(self, events: Iterable[CommerceEvent]) -> int:
        """Publish events in batches and wait until Kafka has acknowledged all; answer the count.

        Every event is validated before the first is sent, so a bad one sends nothing.
        """
        checked = [validate_event(event) for event in events]
        with map_exceptions(_PUBLISH_ERRORS):
            futures = [await self._enqueue(event, None) for event in checked]
            await asyncio.gather(*futures)
        return len(futures)
