"""The router worker: consume events, produce jobs, commit only what Kafka has acknowledged.

One loop, one batch at a time: poll up to `max_batch` records, route each, send every job and
dead letter, wait until Kafka has acknowledged all of them (`acks=all`, idempotent producer),
and only then commit the batch's offsets. Failed sends are retried (with back-off) until they
succeed or the router stops; in that case nothing is committed and the batch is consumed
again by whoever owns the partitions next. A `kill -9` therefore loses nothing: at worst, jobs
of the last uncommitted batch are produced twice, with the same deterministic job ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import (
    CommitFailedError,
    IllegalStateError,
    KafkaError,
    MessageSizeTooLargeError,
)

from integrations_common.errors import map_exceptions
from integrations_common.jobs import utc_now
from integrations_common.kafka import KAFKA_ERRORS, create_consumer, create_producer, ensure_topics
from integrations_common.kafka_group import stop_consumer
from integrations_common.kafka_send import CachedPartitioner, OutgoingRecord, send_all
from integrations_common.topic_catalogue import platform_topics
from integrations_common.tracing import TRACING
from integrations_common.transports import Transport
from integrations_router.dead_letters import dead_letter, stripped, truncated
from integrations_router.job_encoding import JobEncoder
from integrations_router.metrics import (
    EVENTS_IN,
    EVENTS_REJECTED,
    JOBS_OUT,
    ROUTING_LATENCY,
    SEND_RETRIES,
    UNACKNOWLEDGED_BATCH_AGE,
)
from integrations_router.route_spans import RouteSpans
from integrations_router.routing import JOB_TOO_LARGE, Routed, route_record
from integrations_router.settings import RouterSettings
from integrations_router.table import IntegrationTable

logger = logging.getLogger(__name__)

_HEADROOM_BYTES = 64 * 1024


class _RevokeAfterBatch(ConsumerRebalanceListener):  # type: ignore[misc]
    """Holds a rebalance until the batch in flight is acknowledged and committed."""

    def __init__(self, lock: asyncio.Lock) -> None:
        self._lock = lock

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        async with self._lock:
            pass

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        logger.info("partitions assigned", extra={"partitions": [str(tp) for tp in assigned]})


class RouterStats:
    """Counters of this router instance (the Prometheus metrics are process-wide)."""

    def __init__(self) -> None:
        self.events_in = 0
        self.rejected = 0
        self.jobs_out = 0
        self.batches = 0
        self.first_batch_at: float | None = None


class Router:
    """Routes commerce events to per-transport deliveries topics."""

    def __init__(self, settings: RouterSettings) -> None:
        self._settings = settings
        self.table = IntegrationTable(
            kafka=settings.kafka,
            topic=settings.topics.config,
            poll_timeout_ms=settings.poll_timeout_ms,
        )
        self.stats = RouterStats()
        self._lock = asyncio.Lock()
        self._consuming = False
        self._batch_started: float | None = None
        self._partitioner = CachedPartitioner()
        self._encoder = JobEncoder()
        UNACKNOWLEDGED_BATCH_AGE.set_function(self.unacknowledged_for)

    def unacknowledged_for(self) -> float:
        """Seconds the batch in flight has waited for its acknowledgements (0: none)."""
        started = self._batch_started
        return 0.0 if started is None else time.monotonic() - started

    @property
    def stalled(self) -> bool:
        """True while a batch has waited longer than `stall_after_s` (its partitions are stuck)."""
        return self.unacknowledged_for() > self._settings.stall_after_s

    @property
    def ready(self) -> bool:
        """True once the table is loaded, events are being consumed and no batch is stuck."""
        return self.table.loaded.is_set() and self._consuming and not self.stalled

    async def run(self, stop: asyncio.Event) -> None:
        """Route until `stop` is set; return after a clean shutdown."""
        settings = self._settings
        if settings.create_topics:
            created = await ensure_topics(settings.kafka, platform_topics(settings.topics))
            if created:
                logger.info("created topics", extra={"topics": created})
        try:
            await self.table.start()
            await self.table.load()
            if stop.is_set():
                return
            await self._run_pipeline(stop)
        finally:
            await self.table.stop()

    async def _run_pipeline(self, stop: asyncio.Event) -> None:
        settings = self._settings
        largest = max(settings.max_job_bytes, settings.max_dead_letter_bytes)
        producer = create_producer(settings.kafka, max_request_size=largest + _HEADROOM_BYTES)
        consumer = create_consumer(
            settings.kafka,
            group_id=settings.group_id,
            session_timeout_ms=settings.session_timeout_ms or settings.kafka.session_timeout_ms,
            heartbeat_interval_ms=(
                settings.heartbeat_interval_ms or settings.kafka.heartbeat_interval_ms
            ),
            max_poll_records=settings.max_batch,
        )
        with map_exceptions(KAFKA_ERRORS):
            await producer.start()
        follower = asyncio.create_task(self.table.follow(stop), name="router-table")
        try:
            with map_exceptions(KAFKA_ERRORS):
                await consumer.start()
                consumer.subscribe([settings.topics.events], listener=_RevokeAfterBatch(self._lock))
            self._consuming = True
            logger.info("routing", extra={"topic": settings.topics.events})
            await self._consume(consumer, producer, stop, follower)
        finally:
            self._consuming = False
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower
            await stop_consumer(consumer, settings.kafka, group_id=settings.group_id)
            await producer.stop()

    async def _consume(
        self,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        stop: asyncio.Event,
        follower: asyncio.Task[None],
    ) -> None:
        while not stop.is_set():
            if follower.done():
                follower.result()
                return
            with map_exceptions(KAFKA_ERRORS):
                batch = await consumer.getmany(
                    timeout_ms=self._settings.poll_timeout_ms,
                    max_records=self._settings.max_batch,
                )
            if not batch:
                continue
            async with self._batch_running():
                if not await self._process(consumer, producer, batch, stop):
                    return

    @contextlib.asynccontextmanager
    async def _batch_running(self) -> AsyncIterator[None]:
        """Hold the lock and mark when the batch started (for the stall check) while it runs."""
        async with self._lock:
            self._batch_started = time.monotonic()
            try:
                yield
            finally:
                self._batch_started = None

    async def _process(
        self,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        batch: Mapping[TopicPartition, list[Any]],
        stop: asyncio.Event,
    ) -> bool:
        """Route, deliver and commit one batch; answer False when stopped before its acks."""
        settings = self._settings
        if self.stats.first_batch_at is None:
            self.stats.first_batch_at = time.monotonic()
        now = utc_now()
        routed: list[tuple[Any, Routed]] = []
        spans = RouteSpans() if TRACING.enabled else None
        for records in batch.values():
            for record in records:
                started_ns = time.time_ns() if spans is not None else 0
                result = route_record(
                    record,
                    index=self.table.index,
                    topics=settings.topics,
                    now=now,
                    max_job_bytes=settings.max_job_bytes,
                    max_dead_letter_bytes=settings.max_dead_letter_bytes,
                    encoder=self._encoder,
                )
                if spans is not None:
                    spans.add(record, result, started_ns)
                routed.append((record, result))
        outgoing = [out for _, result in routed for out in result.outgoing]
        sources = [record for record, result in routed for _ in result.outgoing]
        delivered = await self._deliver(producer, outgoing, sources, stop)
        if spans is not None:
            spans.end(acknowledged=delivered)
        if not delivered:
            logger.info("stopped before a batch was acknowledged; it will be consumed again")
            return False
        self._account(routed)
        await self._commit(consumer, {tp: records[-1].offset + 1 for tp, records in batch.items()})
        return True

    async def _deliver(
        self,
        producer: AIOKafkaProducer,
        outgoing: list[OutgoingRecord],
        sources: list[Any],
        stop: asyncio.Event,
    ) -> bool:
        """Send every record and wait for its acknowledgement, retrying failures.

        A record the broker (or the producer) refuses as too large would be refused forever:
        a job becomes its event's dead letter (reason `job_too_large`), and a dead letter goes
        again without its value (`dead_letters.stripped`), so the partition moves on.
        """
        pending = list(zip(outgoing, sources, strict=True))
        delay = 0.1
        while pending:
            results = await self._send_all(producer, [out for out, _ in pending])
            failed = [
                (
                    self._smaller(out, source)
                    if isinstance(result, MessageSizeTooLargeError)
                    else out,
                    source,
                )
                for (out, source), result in zip(pending, results, strict=True)
                if result is not None
            ]
            if not failed:
                return True
            SEND_RETRIES.inc(len(failed))
            logger.warning(
                "sending failed; retrying",
                extra={"failed": len(failed), "error": repr(next(r for r in results if r))},
            )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await stop.wait()
            if stop.is_set():
                return False
            delay = min(delay * 2, self._settings.send_retry_max_s)
            pending = failed
        return True

    def _smaller(self, refused: OutgoingRecord, source: Any) -> OutgoingRecord:
        """What to send instead of a record refused as too large (see `_deliver`)."""
        logger.warning(
            "a record was refused as too large; sending its dead letter instead",
            extra={
                "topic": refused.topic,
                "bytes": refused.size,
                "partition": source.partition,
                "offset": source.offset,
            },
        )
        if refused.dead_letter:
            return stripped(refused)
        EVENTS_REJECTED.labels(reason=JOB_TOO_LARGE).inc()
        letter = dead_letter(
            record=source,
            topic=self._settings.topics.events_dlq,
            reason=JOB_TOO_LARGE,
            detail=f"Kafka refused the job for {refused.topic} ({refused.size} bytes) as too large",
            now=utc_now(),
        )
        return truncated(letter, max_bytes=self._settings.max_dead_letter_bytes)

    async def _send_all(
        self, producer: AIOKafkaProducer, outgoing: list[OutgoingRecord]
    ) -> list[BaseException | None]:
        return await send_all(producer, outgoing, self._partitioner)

    def _account(self, routed: list[tuple[Any, Routed]]) -> None:
        """Count one acknowledged batch (metrics are summed per batch, then added)."""
        now_ms = time.time() * 1000
        types: Counter[str] = Counter()
        transports: Counter[Transport] = Counter()
        reasons: Counter[str] = Counter()
        for record, result in routed:
            if result.rejected is not None:
                reasons[result.rejected] += 1
                logger.warning(
                    "rejected an input record",
                    extra={
                        "reason": result.rejected,
                        "partition": record.partition,
                        "offset": record.offset,
                    },
                )
                continue
            types[result.event.type if result.event is not None else "unknown"] += 1
            transports.update(result.transports)
            if record.timestamp and record.timestamp > 0:
                ROUTING_LATENCY.observe(max(0.0, (now_ms - record.timestamp) / 1000))
        for event_type, count in types.items():
            EVENTS_IN.labels(type=event_type).inc(count)
        for transport, count in transports.items():
            JOBS_OUT.labels(transport=transport.value).inc(count)
        for reason, count in reasons.items():
            EVENTS_REJECTED.labels(reason=reason).inc(count)
        self.stats.rejected += reasons.total()
        self.stats.events_in += types.total()
        self.stats.jobs_out += transports.total()
        self.stats.batches += 1

    @staticmethod
    async def _commit(consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        """Commit; a refused commit only means the batch may be routed again (commits are
        cumulative, so the next batch's commit covers it)."""
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError, KafkaError) as exc:
            logger.warning(
                "commit refused; the batch may be routed again", extra={"error": repr(exc)}
            )
