"""Puts replayed jobs on their transport's deliveries topic and waits for Kafka to take them."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from integrations_common.errors import BrokerUnavailableError
from integrations_common.jobs import DeliveryJob
from integrations_common.settings import TopicSettings

REPLAY_HEADER = "x-replay"


class JobSender:
    """Sends jobs to the deliveries topic of their integration's transport.

    A replayed job enters at the start of the retry schedule (the deliveries topic, not a tier),
    so it gets a whole new series of attempts.
    """

    def __init__(
        self, *, producer: AIOKafkaProducer, topics: TopicSettings, timeout_s: float
    ) -> None:
        self._producer = producer
        self._topics = topics
        self._timeout_s = timeout_s

    async def send(self, jobs: Sequence[DeliveryJob], *, origin: str) -> None:
        """Send `jobs` and wait for every acknowledgement; `BrokerUnavailableError` if not."""
        headers = [(REPLAY_HEADER, origin.encode())]
        try:
            async with asyncio.timeout(self._timeout_s):
                futures = [
                    await self._producer.send(
                        self._topics.deliveries(job.integration.transport),
                        value=job.model_dump_json().encode(),
                        key=job.kafka_key,
                        headers=headers,
                    )
                    for job in jobs
                ]
                await asyncio.gather(*futures)
        except (KafkaError, TimeoutError) as exc:
            raise BrokerUnavailableError("cannot send replayed jobs") from exc
