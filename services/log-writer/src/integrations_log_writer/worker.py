"""Consumes `integrations.logs` in batches; commits offsets only after the batch is stored."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pymongo
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from prometheus_client import Counter, Gauge, Histogram
from pydantic import ValidationError

from integrations_common.attempts import AttemptLog
from integrations_common.errors import IntegrationsError, StoreUnavailableError
from integrations_common.kafka import create_consumer, create_producer, ensure_topics
from integrations_common.kafka_group import stop_consumer
from integrations_common.store.health import HEALTH_COLLECTION, HealthStore
from integrations_common.store.integrations import INTEGRATIONS_COLLECTION, IntegrationStore
from integrations_common.store.log_documents import LogCollections
from integrations_common.store.mongo import create_client, raise_if_cancelled
from integrations_common.store.publisher import ConfigPublisher
from integrations_common.topic_catalogue import platform_topics
from integrations_common.tracing import TRACING
from integrations_log_writer.auto_disable import HealthTracker
from integrations_log_writer.settings import LogWriterSettings
from integrations_log_writer.sink import sweep, write_attempts
from integrations_log_writer.spans import end_log_writes, start_log_writes

logger = logging.getLogger(__name__)

WRITTEN = Counter("integrations_log_writer_logs_written_total", "Attempt logs stored.")
REJECTED = Counter(
    "integrations_log_writer_logs_rejected_total", "Records on the logs topic that do not parse."
)
STORE_UP = Gauge(
    "integrations_log_writer_store_up",
    "1 while the store takes writes and answers the probe, else 0.",
)
WRITE_SECONDS = Histogram(
    "integrations_log_writer_write_seconds",
    "Time to store one batch (logs and jobs).",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def parse(records: list[Any]) -> list[AttemptLog]:
    """The attempt logs among `records`; the others are logged (by offset) and counted."""
    logs = []
    for record in records:
        try:
            logs.append(AttemptLog.model_validate_json(record.value or b""))
        except ValidationError:
            REJECTED.inc()
            logger.error(  # noqa: TRY400 - the traceback would repeat the record's content
                "an attempt log does not parse; skipped",
                extra={"partition": record.partition, "offset": record.offset},
            )
    return logs


class LogWriter:
    """The log writer's loop, with its consumer and store."""

    def __init__(self, settings: LogWriterSettings) -> None:
        self.settings = settings
        self._mongo = create_client(settings.mongodb)
        database = self._mongo[settings.mongodb.database]
        self.store = LogCollections.of(database)
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._tracker: HealthTracker | None = None
        self._last_sweep = 0.0
        self._started = False
        self._store_ok = True
        self._probe_ok = True

    @property
    def ready(self) -> bool:
        """Started, the last write went through, and the store answered the last probe."""
        return self._started and self._store_ok and self._probe_ok

    def _set_store_state(
        self, *, write_ok: bool | None = None, probe_ok: bool | None = None
    ) -> None:
        if write_ok is not None:
            self._store_ok = write_ok
        if probe_ok is not None:
            self._probe_ok = probe_ok
        STORE_UP.set(1 if self._store_ok and self._probe_ok else 0)

    async def probe_store(self) -> bool:
        """Ping the store's database within the probe timeout; answers whether it answered."""
        try:
            with pymongo.timeout(self.settings.store_probe_timeout_s):
                await self._mongo[self.settings.mongodb.database].command("ping")
        except pymongo.errors.PyMongoError:
            raise_if_cancelled()
            return False
        return True

    async def watch_store(self, stop: asyncio.Event) -> None:
        """Probe the store every interval, so that a store that hangs while idle shows too."""
        while not stop.is_set():
            ok = await self.probe_store()
            if not ok:
                logger.warning("the store did not answer its probe")
            self._set_store_state(probe_ok=ok)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.store_probe_interval_s):
                    await stop.wait()

    async def start(self) -> None:
        """Create topics (if asked), indexes, and join the consumer group."""
        if self.settings.create_topics:
            await ensure_topics(self.settings.kafka, platform_topics(self.settings.topics))
        await self.store.ensure_indexes(self.settings.retention)
        self._consumer = create_consumer(
            self.settings.kafka,
            self.settings.topics.logs,
            group_id=self.settings.group_id,
            max_poll_records=self.settings.batch_max_records,
        )
        await self._consumer.start()
        if self.settings.auto_disable.enabled:
            self._tracker = await self._start_tracker()
        self._started = True

    async def _start_tracker(self) -> HealthTracker:
        database = self._mongo[self.settings.mongodb.database]
        integrations = IntegrationStore(database[INTEGRATIONS_COLLECTION])
        self._producer = create_producer(self.settings.kafka)
        await self._producer.start()
        publisher = ConfigPublisher(
            producer=self._producer,
            store=integrations,
            topics=self.settings.topics,
            timeout_s=self.settings.auto_disable.publish_timeout_s,
        )
        return HealthTracker(
            health=HealthStore(database[HEALTH_COLLECTION]),
            integrations=integrations,
            publisher=publisher,
            events_source=self.settings.auto_disable.events_source,
            failing_for=self.settings.failing_for,
            min_failed_jobs=self.settings.auto_disable.min_failed_jobs,
        )

    async def _track_health(self, logs: list[AttemptLog]) -> None:
        """Auto-disable bookkeeping for a stored batch; a failure is logged, never retried (the
        next batches of a failing integration check again)."""
        if self._tracker is None or not logs:
            return
        try:
            await self._tracker.observe(logs)
        except IntegrationsError as exc:
            raise_if_cancelled()
            logger.warning("integration health not updated", extra={"reason": str(exc)})

    async def stop(self) -> None:
        """Leave the group and close connections."""
        self._started = False
        if self._consumer is not None:
            await stop_consumer(
                self._consumer, self.settings.kafka, group_id=self.settings.group_id
            )
        if self._producer is not None:
            await self._producer.stop()
        await self._mongo.close()

    async def store_batch(self, logs: list[AttemptLog], stop: asyncio.Event) -> bool:
        """Write until it works (backing off) or a stop is asked; answers whether it worked."""
        delay = 0.5
        while True:
            started = time.monotonic()
            try:
                await write_attempts(
                    store=self.store, logs=logs, chunk_size=self.settings.write_chunk_max
                )
            except StoreUnavailableError as exc:
                raise_if_cancelled()
                self._set_store_state(write_ok=False)
                logger.warning(
                    "cannot store attempt logs; retrying",
                    extra={"reason": type(exc.__cause__ or exc).__name__, "logs": len(logs)},
                )
                try:
                    async with asyncio.timeout(delay):
                        await stop.wait()
                except TimeoutError:
                    delay = min(delay * 2, self.settings.retry_backoff_max_s)
                    continue
                return False
            WRITE_SECONDS.observe(time.monotonic() - started)
            self._set_store_state(write_ok=True)
            WRITTEN.inc(len(logs))
            return True

    async def _maybe_sweep(self) -> None:
        if time.monotonic() - self._last_sweep < self.settings.sweep_interval_s:
            return
        self._last_sweep = time.monotonic()
        try:
            removed = await sweep(
                store=self.store, older_than=datetime.now(UTC) - self.settings.retention
            )
        except StoreUnavailableError as exc:
            raise_if_cancelled()
            logger.warning("retention sweep failed", extra={"reason": str(exc)})
            return
        if removed:
            logger.info("retention sweep", extra={"removed_logs": removed})

    async def run_once(self, stop: asyncio.Event) -> int:
        """Consume, store and commit one batch; answers how many records it covered."""
        assert self._consumer is not None  # noqa: S101 - start() comes first
        batches = await self._consumer.getmany(
            timeout_ms=self.settings.batch_timeout_ms,
            max_records=self.settings.batch_max_records,
        )
        records = [r for partition in batches.values() for r in partition]
        if not records:
            return 0
        logs = parse(records)
        spans = start_log_writes(records, batch=len(records)) if TRACING.enabled else None
        stored = await self.store_batch(logs, stop)
        if spans is not None:
            end_log_writes(spans, stored=stored)
        if stored:
            await self._track_health(logs)
            await self._commit({tp: rs[-1].offset + 1 for tp, rs in batches.items() if rs})
        return len(records)

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Commit a stored batch. A commit refused because the group is rebalancing is not an
        error: the partitions' next owner reads the batch again and stores it idempotently."""
        assert self._consumer is not None  # noqa: S101 - start() comes first
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError, KafkaError) as exc:
            logger.warning(
                "commit refused (the group is rebalancing); the batch will be read again",
                extra={"error": repr(exc)},
            )

    async def run(self, stop: asyncio.Event) -> None:
        """Loop until `stop` is set, probing the store beside the loop."""
        watcher = asyncio.create_task(self.watch_store(stop), name="store-probe")
        try:
            while not stop.is_set():
                await self._maybe_sweep()
                await self.run_once(stop)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher


@dataclass
class Readiness:
    """The `/readyz` answer of the log writer: the running writer's readiness, else not ready."""

    writer: LogWriter | None = None

    def __call__(self) -> bool:
        return self.writer is not None and self.writer.ready


async def run_log_writer(
    settings: LogWriterSettings, stop: asyncio.Event, *, readiness: Readiness | None = None
) -> None:
    """The worker body for the runner; `readiness` follows the writer it starts."""
    writer = LogWriter(settings)
    if readiness is not None:
        readiness.writer = writer
    await writer.start()
    try:
        await writer.run(stop)
    finally:
        await writer.stop()
