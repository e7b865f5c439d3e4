"""The delivery worker: consume jobs, attempt them through a transport, write outcomes, commit.

One Kafka consumer (one consumer group) reads the deliveries topic, every retry tier topic and
the slow lane's topic. Records are processed concurrently, in one-integration batches. A job
that is not due yet pauses its partition (and rewinds to it) until it is; nothing sleeps per
message. For each attempt exactly one `AttemptLog` goes to the logs topic, and a failed job goes
to its next tier or to the dead-letter topic; a partition's offset is committed only once every
record before it has all of that acknowledged by Kafka (acks=all, idempotent producer), or has
been set aside by reference (`aside.py`) with the pointer acknowledged.

Isolation (docs/architecture.md, "Isolation"): each integration holds at most
`integration_concurrency` jobs (`admission.py`); its further jobs are set aside to the slow
lane's topic without being parsed, so the partition reads on for everybody else. Reading is gated
by the fast lane only (jobs in flight for less than `slow_after_s`); jobs in flight longer
count against the slow lane's own budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict, deque
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, KafkaError, MessageSizeTooLargeError
from pydantic import ValidationError

from integrations_common.delivery import metrics
from integrations_common.delivery.admission import Admission
from integrations_common.delivery.aside import (
    SET_ASIDE_HEADER,
    Pointer,
    SideReader,
    pointers_for,
    slow_topic,
)
from integrations_common.delivery.breaker import CircuitBreaker
from integrations_common.delivery.disposition import (
    ERROR_DETAIL_HEADER,
    DeadLetterReason,
    Disposition,
    dead_letter_topic,
    decide,
)
from integrations_common.delivery.offsets import OffsetTracker
from integrations_common.delivery.oversize import smaller
from integrations_common.delivery.pacing import Pacer
from integrations_common.delivery.settings import DeliverySettings
from integrations_common.delivery.spans import AttemptSpans
from integrations_common.delivery.transport import (
    DeliveryOutcome,
    DeliveryTransport,
    not_started,
    start_gate,
)
from integrations_common.delivery.versions import NewestVersions
from integrations_common.jobs import DeliveryJob, utc_now
from integrations_common.kafka import TopicSpec, create_consumer, create_producer, ensure_topics
from integrations_common.kafka_group import stop_consumer
from integrations_common.kafka_send import CachedPartitioner, OutgoingRecord, send_all, send_each
from integrations_common.settings import KafkaSettings, TopicSettings
from integrations_common.topic_catalogue import delivery_topic_specs
from integrations_common.tracing import TRACING, job_traceparents
from integrations_common.transports import Transport

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
T = TypeVar("T")


_READ_AHEAD = 2000  # records per poll at least, so set-aside runs are read in large steps
_SKIP_BURST = 64  # open-circuit skips let through at once before their pace applies
_SKIP_FACTOR = 8  # an open circuit's jobs (skipped, no request) may be held to 8x the limit
_MAX_POINTERS = 1000  # slow-lane pointers taken (queued per integration) at once
_POINTER_SPAN = 2000  # source offsets one pointer may span (bounds what one re-read reads)
_POINTER_PIECE = 256  # offsets of a pointer read again at once
_ASIDE_FLUSH_SECONDS = 0.1  # set-aside offsets are collected this long into one pointer
# The producer's batch size per partition (aiokafka's default is 16 KB). An attempt log carries
# the event (2 KB and more), so 16 KB batches filled after a few logs and the other writers of
# that partition waited for the batch in flight, woke, and mostly waited again: profiled under
# `make bench-webhook` this was the sender's largest cost. Far below Kafka's default
# `message.max.bytes` (1 MB); should a topic take less, a record refused as too large is sent
# again alone before it is shrunk (`_produce_all`).
_MAX_BATCH_BYTES = 256 * 1024


@dataclass(eq=False)
class _Lease:
    """This worker's hold on one partition (docs/reliability.md, "Graceful handover").

    `open` while the partition is assigned and the worker runs: its jobs may start. Closed when
    a rebalance revokes it or the worker stops: jobs whose request has not started are handed
    over, the others finish. `ours` until the revoke (or the stop) has committed what it
    could: after that, a straggler's offsets are no longer this worker's to finish or hand over.
    """

    open: bool = True
    ours: bool = True


@dataclass(eq=False)
class _PointerWork:
    """A slow-lane pointer being worked through; `pending`: its offsets not done yet."""

    tp: TopicPartition
    offset: int
    pointer: Pointer
    lease: _Lease
    pending: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class _Record:
    tp: TopicPartition
    offset: int
    job: DeliveryJob
    tier: int | None
    tracked: bool = True  # False for jobs read through a pointer (the pointer is tracked)
    headers: Any = None  # the record's headers (the trace context travels in them)


@dataclass
class _Batch:
    key: str
    records: list[_Record]
    leases: dict[TopicPartition, _Lease]  # the partitions whose offsets the records are
    pointer: _PointerWork | None = None  # the pointer the records were read through
    slow: bool = False
    done: bool = False

    def may_start(self) -> bool:
        """Whether the batch's jobs may still start (every partition of it still open)."""
        return all(lease.open for lease in self.leases.values())


class DeliveryWorker:
    """Runs one transport's deliveries, retries, dead letters and attempt logs."""

    def __init__(
        self,
        *,
        transport: Transport,
        deliverer: DeliveryTransport,
        kafka: KafkaSettings,
        topics: TopicSettings,
        settings: DeliverySettings,
        clock: Clock = utc_now,
    ) -> None:
        self._transport = transport
        self._deliverer = deliverer
        self._kafka = kafka
        self._topics = topics
        self._settings = settings
        self._clock = clock
        self._schedule = settings.schedule
        self._deliveries = topics.deliveries(transport)
        self._dead_letters = dead_letter_topic(self._deliveries)
        self._tiers = {t: i for i, t in enumerate(self._schedule.tier_topics(self._deliveries))}
        self._group = settings.consumer_group or f"integrations-{transport.value}-sender"
        self._breaker = CircuitBreaker(
            failure_threshold=settings.breaker_failure_threshold,
            open_seconds=settings.breaker_open_s,
            max_open_seconds=settings.breaker_max_open_s,
        )
        self._slow = slow_topic(self._deliveries)
        self._skip_pacer = Pacer(
            rate=settings.skip_rate_per_s, burst=max(settings.batch_size, _SKIP_BURST)
        )
        self._admission = Admission(
            integration_limit=settings.integration_concurrency,
            slow_lane_limit=settings.slow_lane_concurrency,
            lane_wait_s=settings.lane_wait_s,
        )
        self._tracker = OffsetTracker()
        self._paused: dict[TopicPartition, asyncio.TimerHandle] = {}
        self._held: dict[TopicPartition, list[ConsumerRecord]] = {}
        self._pointer_paused: set[TopicPartition] = set()
        self._pointer_queues: dict[str, deque[_PointerWork]] = {}
        self._leases: dict[TopicPartition, _Lease] = {}
        self._handing_over = asyncio.Event()  # set (and replaced) when a handover begins
        self._handed_over = 0  # jobs handed over unattempted so far (for the handover's log)
        self._aside: dict[tuple[TopicPartition, str], list[int]] = {}
        self._aside_count = 0
        self._aside_timer: asyncio.TimerHandle | None = None
        self._pointers = 0
        self._side: SideReader | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._capacity = asyncio.Event()
        self._capacity.set()
        self._commit_wanted = asyncio.Event()
        self._commit_lock = asyncio.Lock()
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._partitioner = CachedPartitioner()
        self._versions = NewestVersions()
        self._ready = False
        self._label = transport.value
        self._metrics = metrics.WorkerMetrics(transport.value)

    @property
    def ready(self) -> bool:
        """True once the worker consumes (for `/readyz`)."""
        return self._ready

    @property
    def topics(self) -> list[str]:
        """The topics this worker consumes: deliveries, the tiers in order, the slow lane's."""
        return [self._deliveries, *self._tiers, self._slow]

    def topic_specs(self) -> list[TopicSpec]:
        """Every topic this worker reads or writes."""
        return delivery_topic_specs(
            topics=self._topics, transport=self._transport, schedule=self._schedule
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Consume and deliver until `stop` is set, then finish or abandon what is in flight."""
        if self._settings.create_topics:
            created = await ensure_topics(self._kafka, self.topic_specs())
            if created:
                logger.info("created topics", extra={"topics": created})
        producer = create_producer(self._kafka, max_batch_size=_MAX_BATCH_BYTES)
        consumer = create_consumer(
            self._kafka,
            group_id=self._group,
            max_partition_fetch_bytes=self._settings.fetch_partition_bytes,
        )
        side = create_consumer(self._kafka, group_id=None, max_partition_fetch_bytes=1024 * 1024)
        consumer.subscribe(topics=self.topics, listener=_Rebalance(self))
        await producer.start()
        try:
            await consumer.start()
            try:
                await side.start()
            except BaseException:
                await consumer.stop()
                raise
        except BaseException:
            await producer.stop()
            raise
        self._producer, self._consumer = producer, consumer
        self._side = SideReader(side)
        committer = asyncio.create_task(self._commit_loop())
        self._ready = True
        logger.info(
            "delivery worker started",
            extra={"transport": self._label, "group": self._group, "topics": self.topics},
        )
        try:
            await self._consume(consumer, stop)
        finally:
            self._ready = False
            await self._shutdown(consumer, producer, committer)

    async def _consume(self, consumer: AIOKafkaConsumer, stop: asyncio.Event) -> None:
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                if not self._capacity.is_set():
                    capacity = asyncio.create_task(self._capacity.wait())
                    await asyncio.wait({capacity, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    capacity.cancel()
                    continue
                if self._held:
                    self._dispatch_held(consumer)
                    continue
                room = self._settings.concurrency - self._admission.fast
                fetched = await consumer.getmany(
                    timeout_ms=self._settings.poll_timeout_ms, max_records=max(room, _READ_AHEAD)
                )
                if fetched:
                    self._dispatch(consumer, fetched)
        finally:
            stopping.cancel()

    def _dispatch_held(self, consumer: AIOKafkaConsumer) -> None:
        """Admit the records held back when the fast lane was full (`_hold`), before any poll."""
        held, self._held = self._held, {}
        assigned = consumer.assignment()
        self._dispatch(consumer, {tp: rs for tp, rs in held.items() if tp in assigned})

    def _hold(self, tp: TopicPartition, records: list[ConsumerRecord], index: int) -> None:
        """The fast lane is full: keep `tp`'s records from `index` on until it has room.

        They used to be read again (a seek back to them): the next poll fetched and unpacked
        them once more, about 5 records read per job delivered under a backlog. Held records
        go first once the lane has room, and no poll happens while any are held (the lane is
        full until then), so the consumer's position stays just past them. At most one poll's
        records are held; a revoked partition's are dropped (they are not tracked, so its
        committed offset stays at or before them).
        """
        self._held[tp] = records[index:]

    def _dispatch(
        self, consumer: AIOKafkaConsumer, fetched: dict[TopicPartition, list[ConsumerRecord]]
    ) -> None:
        now = self._clock()
        admitted: dict[str, list[_Record]] = defaultdict(list)
        aside: dict[tuple[TopicPartition, str], list[int]] = defaultdict(list)
        for tp, records in fetched.items():
            if not self._lease(consumer, tp).open:
                continue  # being handed over: not tracked, so the next owner reads them
            if tp.topic == self._slow:
                for record in records:
                    if not self._take_pointer(consumer, tp, record):
                        break
            else:
                self._admit_partition(
                    consumer, tp, records, now=now, admitted=admitted, aside=aside
                )
        if aside:
            self._buffer_aside(aside)
        for key, group in admitted.items():
            size = self._settings.batch_size
            for start in range(0, len(group), size):
                chunk = group[start : start + size]
                self._spawn(_Batch(key, chunk, {r.tp: self._leases[r.tp] for r in chunk}))
        self._gate()

    def _admit_partition(
        self,
        consumer: AIOKafkaConsumer,
        tp: TopicPartition,
        records: list[ConsumerRecord],
        *,
        now: datetime,
        admitted: dict[str, list[_Record]],
        aside: dict[tuple[TopicPartition, str], list[int]],
    ) -> None:
        """Admit or set aside a deliveries or tier partition's records, in order.

        A key set aside once in this pass is set aside for the rest of it (nothing it depends
        on changes before the pass returns to the event loop), so a burst of one integration
        costs a dictionary look-up per record: no decoding, no admission check.
        """
        tier = self._tiers.get(tp.topic)
        set_aside: dict[bytes, list[int]] = {}
        for index, record in enumerate(records):
            raw = record.key
            if tier is None and raw and record.value is not None:
                # First attempts are due at once: decide on the key, before parsing.
                offsets = set_aside.get(raw)
                key = _key(record) if offsets is None else None
                if key is not None:
                    reason = self._admission.aside_reason(key) or self._paced_reason(key)
                    if reason is not None:
                        offsets = set_aside[raw] = self._note_aside(tp, key, reason, aside)
                    elif self._admission.fast >= self._settings.concurrency:
                        self._hold(tp, records, index)  # the fast lane is full: admit it later
                        return
                if offsets is not None:
                    offsets.append(record.offset)
                    continue
            job = self._read(tp, record)
            if job is None:
                continue
            if job.not_before is not None and job.not_before > now:
                self._pause_until(consumer, tp, record.offset, job.not_before, now)
                return
            key = job.integration.id
            reason = self._admission.aside_reason(key) or self._paced_reason(key)
            if reason is not None:
                self._note_aside(tp, key, reason, aside).append(record.offset)
                continue
            if self._admission.fast >= self._settings.concurrency:
                self._hold(tp, records, index)  # the fast lane is full: admit it later
                return
            if tier is not None and job.not_before is not None:
                lag = (now - job.not_before).total_seconds()
                metrics.TIER_LAG.labels(self._label, self._schedule.labels[tier]).set(lag)
            self._tracker.start(tp, record.offset)
            self._admission.admit(key, 1)
            admitted[key].append(_Record(tp, record.offset, job, tier, headers=record.headers))

    def _note_aside(
        self,
        tp: TopicPartition,
        key: str,
        reason: str,
        aside: dict[tuple[TopicPartition, str], list[int]],
    ) -> list[int]:
        """`key`'s jobs on `tp` go to the slow lane: the list their offsets are added to."""
        if reason == "full":
            self._admission.set_aside(key)
        return aside[(tp, key)]

    def _buffer_aside(self, aside: dict[tuple[TopicPartition, str], list[int]]) -> None:
        """Collect set-aside offsets for a moment, so one pointer covers many polls."""
        for entry, offsets in aside.items():
            self._tracker.start_many(entry[0], offsets)
            self._aside.setdefault(entry, []).extend(offsets)
            self._aside_count += len(offsets)
        if self._aside_count >= _POINTER_SPAN:
            self._flush_aside()
        elif self._aside_timer is None:
            loop = asyncio.get_running_loop()
            self._aside_timer = loop.call_later(_ASIDE_FLUSH_SECONDS, self._flush_aside)

    def _flush_aside(self) -> None:
        if self._aside_timer is not None:
            self._aside_timer.cancel()
            self._aside_timer = None
        buffered, self._aside, self._aside_count = self._aside, {}, 0
        for (tp, key), offsets in buffered.items():
            self._track(self._write_pointers(tp, key, offsets))

    async def _write_pointers(
        self, tp: TopicPartition, key: str, offsets: list[int], *, handed_over: bool = False
    ) -> None:
        """Write pointers to set-aside records; then their offsets are done.

        `handed_over`: jobs given back unattempted when their partition was handed over (or
        the rest of a pointer), rather than set aside for want of room.
        """
        await self._point_to(tp, key, offsets)
        self._tracker.finish_many(tp, offsets)
        if handed_over:
            self._handed_over += len(offsets)
            metrics.HANDED_OVER.labels(self._label).inc(len(offsets))
        else:
            metrics.SET_ASIDE.labels(self._label).inc(len(offsets))
        self._commit_wanted.set()

    async def _point_to(self, tp: TopicPartition, key: str, offsets: list[int]) -> None:
        """Write (and wait for Kafka to take) pointers to `key`'s records at `offsets` of `tp`."""
        pointers = pointers_for(tp.topic, tp.partition, key, offsets, max_span=_POINTER_SPAN)
        header = [(SET_ASIDE_HEADER, b"reference")]
        await self._produce_all(
            [OutgoingRecord(self._slow, key.encode(), p.encode(), header) for p in pointers]
        )

    def _take_pointer(
        self, consumer: AIOKafkaConsumer, tp: TopicPartition, record: ConsumerRecord
    ) -> bool:
        """Start working on a slow-lane pointer; False (partition paused) when too many are."""
        if self._pointers >= _MAX_POINTERS:
            consumer.pause(tp)
            consumer.seek(tp, record.offset)
            self._pointer_paused.add(tp)
            return False
        try:
            pointer = Pointer.decode(record.value or b"")
        except ValueError as exc:
            logger.warning(
                "unreadable slow-lane record sent to the dead-letter topic",
                extra={"topic": tp.topic, "partition": tp.partition, "offset": record.offset},
            )
            metrics.UNREADABLE.labels(self._label).inc()
            self._tracker.start(tp, record.offset)
            self._track(self._dead_letter_raw(tp, record, str(exc)))
            return True
        self._tracker.start(tp, record.offset)
        self._pointers += 1
        key = pointer.integration_id
        work = _PointerWork(tp, record.offset, pointer, self._leases[tp])
        queue = self._pointer_queues.get(key)
        if queue is None:
            self._pointer_queues[key] = deque([work])
            self._track(self._run_pointers(key))
        else:
            queue.append(work)
        return True

    async def _run_pointers(self, key: str) -> None:
        """Work through one integration's pointers in order; each integration has its own
        runner, so an integration waiting for room never holds up another's set-aside jobs."""
        queue = self._pointer_queues[key]
        try:
            while queue:
                try:
                    await self._run_pointer(queue[0])
                finally:
                    queue.popleft()
                    self._pointers -= 1
                    self._resume_pointers()
        finally:
            if self._pointer_queues.get(key) is queue:
                del self._pointer_queues[key]
                self._pointers -= len(queue)

    async def _run_pointer(self, work: _PointerWork) -> None:
        """Read a pointer's jobs again and attempt them under their integration's limit.

        The pointer is worked through in pieces of `_POINTER_PIECE` offsets, each read only once
        its integration has room, so a waiting pointer holds no jobs in memory. Once its
        partition is being handed over, no further piece is read: what is left goes to the
        next owner in a pointer of its own (`_finish_pointer`).
        """
        pointer = work.pointer
        key = pointer.integration_id
        source = TopicPartition(pointer.topic, pointer.partition)
        tier = self._tiers.get(pointer.topic)
        offsets = [o for lo, hi in pointer.ranges for o in range(lo, hi + 1)]
        work.pending.update(offsets)
        pieces = pointers_for(
            pointer.topic, pointer.partition, key, offsets, max_span=_POINTER_PIECE
        )
        batches: list[asyncio.Task[None]] = []
        for piece in pieces:
            room = await self._pointer_room(work)
            if room == 0:
                break
            jobs: list[_Record] = []
            for record in await self._read_pointer(piece):
                job = await self._read_referenced(source, record)
                if job is not None:
                    jobs.append(
                        _Record(
                            source, record.offset, job, tier, tracked=False, headers=record.headers
                        )
                    )
            # records gone (retention) or unreadable (dead-lettered) are done with
            work.pending.difference_update(
                {o for lo, hi in piece.ranges for o in range(lo, hi + 1)}
                - {item.offset for item in jobs}
            )
            position = 0
            while position < len(jobs):
                if room == 0:
                    room = await self._pointer_room(work)
                    if room == 0:
                        break
                take = min(room, self._settings.batch_size, len(jobs) - position)
                chunk = jobs[position : position + take]
                position += take
                room = 0
                self._admission.admit(key, take)
                batches.append(self._spawn(_Batch(key, chunk, {work.tp: work.lease}, work)))
                self._gate()
            if position < len(jobs):
                break
        # the runner goes on with the next pointer; this one is done when its batches are
        self._track(self._finish_pointer(work, batches))

    async def _pointer_room(self, work: _PointerWork) -> int:
        """Room for the pointer's integration; 0 once its partition is being handed over."""
        key = work.pointer.integration_id
        while work.lease.open:
            if not self._capacity.is_set():
                await self._unless_handing_over(self._capacity.wait())
                continue
            room = await self._unless_handing_over(self._room_or_open_circuit(key))
            if room and work.lease.open:
                return room
        return 0

    async def _unless_handing_over(self, wait: Coroutine[Any, Any, T]) -> T | None:
        """Await `wait`, or stop waiting (None) when a handover begins."""
        task = asyncio.ensure_future(wait)
        handover = asyncio.ensure_future(self._handing_over.wait())
        try:
            await asyncio.wait({task, handover}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            handover.cancel()
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        return task.result() if not task.cancelled() else None

    async def _finish_pointer(self, work: _PointerWork, batches: list[asyncio.Task[None]]) -> None:
        """The pointer is done once its batches are; what they handed back (and any piece not
        read) goes on in a new pointer, written before this one's offset counts as done."""
        results = await asyncio.gather(*batches, return_exceptions=True)
        if any(isinstance(r, BaseException) for r in results):
            return  # left in flight: not committed, so read again after a restart
        if work.pending:
            if not work.lease.ours:
                return  # not committed: the partition's next owner reads the pointer again
            pointer = work.pointer
            await self._point_to(
                TopicPartition(pointer.topic, pointer.partition),
                pointer.integration_id,
                sorted(work.pending),
            )
            self._handed_over += len(work.pending)
            metrics.HANDED_OVER.labels(self._label).inc(len(work.pending))
        if work.lease.ours:
            self._tracker.finish(work.tp, work.offset)
            self._commit_wanted.set()

    async def _room_or_open_circuit(self, key: str) -> int:
        """Room for `key`'s set-aside jobs; 0 to look again (after at most a second).

        While the integration's circuit is open its jobs are skipped without a request (and
        logged, and sent to their next tier), which takes nothing from the destination, so
        they need no room: a hanging endpoint's backlog is worked off at once instead of at
        the pace of its timeouts.
        """
        if self._skipping(key):
            # bounded all the same, so memory stays bounded too; and paced (`pacing.py`)
            extra = _SKIP_FACTOR * self._settings.integration_concurrency
            extra -= self._admission.held(key)
            if extra > 0:
                room = min(extra, self._settings.batch_size)
                waited = await self._skip_pacer.take(room)
                if waited:
                    metrics.SKIP_WAIT.labels(self._label).inc(waited)
                return room
        try:
            async with asyncio.timeout(1.0):
                return await self._admission.wait_room(key)
        except TimeoutError:
            return 0

    def _paced_reason(self, key: str) -> str | None:
        """`paced` when a job of `key` would be skipped and the skips' pace has no turn for it."""
        if self._skipping(key) and not self._skip_pacer.try_take(1):
            return "paced"
        return None

    def _skipping(self, key: str) -> bool:
        """Would a job of `key` be skipped now (its circuit open, no probe due)?"""
        return self._breaker.is_open(key) and self._breaker.remaining(key) > 0

    async def _read_pointer(self, pointer: Pointer) -> list[ConsumerRecord]:
        side = self._side
        if side is None:
            raise RuntimeError("the worker is not running")
        while True:
            try:
                records, missing = await side.read(pointer)
            except (TimeoutError, KafkaError) as exc:
                logger.warning(
                    "reading set-aside jobs failed; retrying", extra={"error": repr(exc)}
                )
                await asyncio.sleep(self._settings.produce_retry_s)
                continue
            if missing:
                logger.error(
                    "set-aside jobs no longer in their topic (retention?)",
                    extra={
                        "topic": pointer.topic,
                        "partition": pointer.partition,
                        "integration_id": pointer.integration_id,
                        "missing": missing,
                    },
                )
                metrics.SET_ASIDE_MISSING.labels(self._label).inc(missing)
            return records

    async def _read_referenced(
        self, tp: TopicPartition, record: ConsumerRecord
    ) -> DeliveryJob | None:
        try:
            return DeliveryJob.model_validate_json(record.value or b"")
        except ValidationError as exc:
            metrics.UNREADABLE.labels(self._label).inc()
            await self._write_unreadable(tp, record, _unreadable_reason(exc))
            return None

    def _resume_pointers(self) -> None:
        metrics.POINTERS.labels(self._label).set(self._pointers)
        consumer = self._consumer
        if consumer is None or self._pointers >= _MAX_POINTERS:
            return
        assigned = consumer.assignment()
        for tp in self._pointer_paused:
            if tp in assigned and tp not in self._paused:
                consumer.resume(tp)
        self._pointer_paused.clear()

    def _read(self, tp: TopicPartition, record: ConsumerRecord) -> DeliveryJob | None:
        value = record.value
        if value is None:
            self._tracker.skip(tp, record.offset)
            return None
        try:
            return DeliveryJob.model_validate_json(value)
        except ValidationError as exc:
            reason = _unreadable_reason(exc)
            logger.warning(
                "unreadable delivery record sent to the dead-letter topic",
                extra={
                    "topic": tp.topic,
                    "partition": tp.partition,
                    "offset": record.offset,
                    "reason": reason,
                },
            )
            metrics.UNREADABLE.labels(self._label).inc()
            self._tracker.start(tp, record.offset)
            self._track(self._dead_letter_raw(tp, record, reason))
            return None

    async def _dead_letter_raw(
        self, tp: TopicPartition, record: ConsumerRecord, reason: str
    ) -> None:
        await self._write_unreadable(tp, record, reason)
        self._tracker.finish(tp, record.offset)
        self._commit_wanted.set()

    async def _write_unreadable(
        self, tp: TopicPartition, record: ConsumerRecord, reason: str
    ) -> None:
        """The record as it was, on the dead-letter topic, with why and where it was read."""
        headers = [
            ("x-dead-letter-reason", DeadLetterReason.UNREADABLE.value.encode()),
            (ERROR_DETAIL_HEADER, reason.encode()[:1024]),
            ("x-source", f"{tp.topic}/{tp.partition}/{record.offset}".encode()),
        ]
        await self._produce_all(
            [OutgoingRecord(self._dead_letters, record.key, record.value, headers)]
        )
        metrics.DEAD_LETTERS.labels(self._label, DeadLetterReason.UNREADABLE.value).inc()

    def _pause_until(
        self,
        consumer: AIOKafkaConsumer,
        tp: TopicPartition,
        offset: int,
        due: datetime,
        now: datetime,
    ) -> None:
        consumer.pause(tp)
        consumer.seek(tp, offset)
        previous = self._paused.pop(tp, None)
        if previous is not None:
            previous.cancel()
        delay = max(0.0, (due - now).total_seconds())
        loop = asyncio.get_running_loop()
        self._paused[tp] = loop.call_later(delay, self._resume, tp)

    def _resume(self, tp: TopicPartition) -> None:
        self._paused.pop(tp, None)
        consumer = self._consumer
        if consumer is not None and tp in consumer.assignment():
            consumer.resume(tp)

    def _spawn(self, batch: _Batch) -> asyncio.Task[None]:
        self._metrics.in_flight.inc(len(batch.records))
        loop = asyncio.get_running_loop()
        timer = loop.call_later(self._settings.slow_after_s, self._to_slow, batch)
        return self._track(self._process(batch, timer))

    def _to_slow(self, batch: _Batch) -> None:
        if batch.done or batch.slow:
            return
        batch.slow = True
        self._admission.to_slow(batch.key, len(batch.records))
        self._metrics.slow_lane.set(self._admission.slow)
        self._gate()

    def _gate(self) -> None:
        """Reading goes on while the fast lane has room.

        While records are held (`_hold`), it goes on only once half the lane is free: admitted
        as soon as one batch finished, they would make one-job batches (a few jobs spread over
        many integrations), and the work per batch would be paid per job. A poll used to give
        that pause, by reading them again.
        """
        limit = self._settings.concurrency
        if self._held:
            limit -= limit // 2
        if self._admission.fast >= limit:
            self._capacity.clear()
        else:
            self._capacity.set()

    def _track(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("delivery task failed", exc_info=task.exception())

    async def _process(self, work: _Batch, timer: asyncio.TimerHandle) -> None:
        # one rule for every transport: attempt (and retry) with the newest version seen
        batch = [self._newest(item) for item in work.records]
        spans = (
            AttemptSpans(self._label, [(item.job, item.headers) for item in batch])
            if TRACING.enabled
            else None
        )
        try:
            outcomes, started, finished = await self._attempt(batch, work, spans)
            # a job handed back unattempted (`not_started`) has no attempt and no disposition
            dispositions = [
                None
                if outcome.released
                else decide(
                    job=item.job,
                    outcome=outcome,
                    source_tier=item.tier,
                    schedule=self._schedule,
                    deliveries_topic=self._deliveries,
                    started_at=started,
                    finished_at=finished,
                    max_retry_after=self._settings.max_retry_after_s,
                )
                for item, outcome in zip(batch, outcomes, strict=True)
            ]
            if spans is not None:
                spans.attempted(outcomes)
                spans.disposed(dispositions)
            await self._produce_all(
                [
                    record
                    for index, d in enumerate(dispositions)
                    if d is not None
                    for record in self._records_of(
                        d, spans.headers(index) if spans is not None else None
                    )
                ]
            )
            if spans is not None:
                spans.end()
            handed: dict[TopicPartition, list[int]] = defaultdict(list)
            for item, outcome, disposition in zip(batch, outcomes, dispositions, strict=True):
                if disposition is None:
                    if item.tracked and work.leases[item.tp].ours:
                        handed[item.tp].append(item.offset)
                    continue  # read through a pointer: stays pending in it (`_finish_pointer`)
                self._observe(outcome, disposition)
                if work.pointer is not None:
                    work.pointer.pending.discard(item.offset)
                elif item.tracked and work.leases[item.tp].ours:
                    self._tracker.finish(item.tp, item.offset)
            for tp, offsets in handed.items():
                # set aside by reference for the partition's next owner; then they are done
                await self._write_pointers(tp, work.key, offsets, handed_over=True)
            self._commit_wanted.set()
        finally:
            if spans is not None:
                spans.end(written=False)
            timer.cancel()
            work.done = True
            self._admission.release(work.key, len(batch), slow=work.slow)
            self._metrics.in_flight.dec(len(batch))
            self._metrics.slow_lane.set(self._admission.slow)
            self._gate()

    def _newest(self, item: _Record) -> _Record:
        """`item` with its integration's newest version seen (itself if that is its own)."""
        job = self._versions.current(item.job)
        return item if job is item.job else replace(item, job=job)

    async def _attempt(
        self, batch: list[_Record], work: _Batch, spans: AttemptSpans | None = None
    ) -> tuple[list[DeliveryOutcome], datetime, datetime]:
        """Outcomes in batch order: circuit-open jobs are skipped, the others attempted.

        An operator's replay is attempted even so (it is read from the deliveries topic, not a
        tier): the operator says the endpoint works again, and its success closes the circuit.
        Once the batch's partitions are being handed over (`_Lease`), jobs not started yet are
        handed back (`not_started`); the transport asks the same before each request.
        """
        if not work.may_start():
            now = self._clock()
            return [not_started() for _ in batch], now, now
        allowed: list[int] = []
        outcomes: list[DeliveryOutcome | None] = []
        for index, item in enumerate(batch):
            key = item.job.integration.id
            if (item.job.replay and item.tier is None) or self._breaker.allow(key):
                allowed.append(index)
                outcomes.append(None)
            else:
                outcomes.append(self._circuit_open(key))
        started = self._clock()
        traceparents = None if spans is None else spans.traceparents([i.job for i in batch])
        with start_gate(work.may_start):
            attempted = await self._deliver([batch[i].job for i in allowed], traceparents)
        finished = self._clock()
        seconds = (finished - started).total_seconds()
        for index, outcome in zip(allowed, attempted, strict=True):
            outcomes[index] = outcome
            if outcome.released:
                continue
            self._breaker.record(batch[index].job.integration.id, succeeded=outcome.succeeded)
            self._metrics.attempt_duration.observe(_duration(outcome, seconds))
        self._metrics.open_circuits.set(self._breaker.open_count)
        return [o for o in outcomes if o is not None], started, finished

    async def _deliver(
        self, jobs: Sequence[DeliveryJob], traceparents: dict[str, str] | None = None
    ) -> Sequence[DeliveryOutcome]:
        if not jobs:
            return []
        try:
            if traceparents is None:
                outcomes = await self._deliverer.deliver(jobs)
            else:
                with job_traceparents(traceparents):
                    outcomes = await self._deliverer.deliver(jobs)
        except Exception as exc:
            logger.exception("transport raised instead of answering outcomes")
            detail = f"Internal error in the {self._label} transport: {type(exc).__name__}"
            return [DeliveryOutcome(succeeded=False, error_detail=detail) for _ in jobs]
        if len(outcomes) != len(jobs):
            logger.error("transport answered %d outcomes for %d jobs", len(outcomes), len(jobs))
            detail = f"Internal error in the {self._label} transport: outcome count mismatch"
            return [DeliveryOutcome(succeeded=False, error_detail=detail) for _ in jobs]
        return outcomes

    def _circuit_open(self, key: str) -> DeliveryOutcome:
        wait = self._breaker.remaining(key)
        return DeliveryOutcome(
            succeeded=False,
            skipped=True,
            error_detail=(
                "Not sent: this integration's circuit is open after repeated failures; "
                f"the next probe is in {wait:.0f}s - treating as a fail"
            ),
        )

    def _records_of(
        self,
        disposition: Disposition,
        trace: tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]] | None = None,
    ) -> list[OutgoingRecord]:
        """The log record and the next-topic record; `trace`: their trace headers."""
        log_trace, next_trace = trace or ([], [])
        log = disposition.log
        records = [
            OutgoingRecord(
                self._topics.logs, log.job_id.encode(), log.model_dump_json().encode(), log_trace
            )
        ]
        if disposition.next_topic is not None and disposition.next_job is not None:
            job = disposition.next_job
            records.append(
                OutgoingRecord(
                    disposition.next_topic,
                    job.kafka_key,
                    job.model_dump_json().encode(),
                    disposition.headers + next_trace,
                )
            )
        return records

    async def _produce_all(self, records: list[OutgoingRecord]) -> None:
        """Write records and wait for every acknowledgement, retrying until Kafka takes them.

        A record refused as too large may have been refused for the batch it shared with others
        (a topic whose `max.message.bytes` is below `_MAX_BATCH_BYTES`): it is sent again alone,
        in a batch of its own. Refused alone, it is replaced by a smaller one
        (`oversize.smaller`): it would be refused forever and stall the partition. Only records
        not yet taken are sent again.
        """
        producer = self._producer
        if producer is None:
            raise RuntimeError("the worker is not running")
        pending = [(record, False) for record in records]  # (record, to be sent alone)
        while pending:
            together = [record for record, alone in pending if not alone]
            alone = [record for record, alone in pending if alone]
            if alone:
                sent, sent_alone = await asyncio.gather(
                    send_each(producer, together), send_all(producer, alone, self._partitioner)
                )
            else:
                sent, sent_alone = await send_each(producer, together), []
            pending = [
                *((record, False) for record in together),
                *((record, True) for record in alone),
            ]
            results = [*sent, *sent_alone]
            failed: list[tuple[OutgoingRecord, bool]] = []
            transient = False
            for (record, was_alone), result in zip(pending, results, strict=True):
                if isinstance(result, MessageSizeTooLargeError):
                    if not was_alone and record.size < _MAX_BATCH_BYTES:
                        failed.append((record, True))  # perhaps refused for its batch-mates
                        continue
                    logger.warning(
                        "a record was refused as too large; sending a smaller one",
                        extra={"topic": record.topic, "bytes": len(record.value or b"")},
                    )
                    failed.append((smaller(record, logs_topic=self._topics.logs), False))
                elif isinstance(result, KafkaError):
                    failed.append((record, was_alone))
                    transient = True
                elif result is not None:
                    raise result
            if transient:
                logger.warning(
                    "writing outcomes to Kafka failed; retrying", extra={"records": len(failed)}
                )
                await asyncio.sleep(self._settings.produce_retry_s)
            pending = failed

    def _observe(self, outcome: DeliveryOutcome, disposition: Disposition) -> None:
        if outcome.succeeded:
            name = "succeeded"
            latency = (disposition.log.finished_at - disposition.log.event_time).total_seconds()
            self._metrics.latency.observe(max(0.0, latency))
        else:
            name = "skipped" if outcome.skipped else "failed"
        status = metrics.status_class(outcome.status_code)
        self._metrics.attempts(name, status).inc()
        if disposition.dead_letter is not None:
            metrics.DEAD_LETTERS.labels(self._label, disposition.dead_letter.value).inc()

    async def _commit_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._commit_wanted.wait()
            self._commit_wanted.clear()
            await self.commit()

    async def commit(self, only: Sequence[TopicPartition] | None = None) -> None:
        """Commit every offset whose records (and all before them) are done."""
        consumer = self._consumer
        if consumer is None:
            return
        async with self._commit_lock:
            assigned = consumer.assignment()
            offsets = {
                tp: offset
                for tp, offset in self._tracker.committable().items()
                if tp in assigned and (only is None or tp in only)
            }
            if not offsets:
                return
            try:
                await consumer.commit(offsets)
            except (CommitFailedError, KafkaError) as exc:
                logger.warning("commit failed; will retry", extra={"error": repr(exc)})
                return
            self._tracker.committed(offsets)

    async def _shutdown(
        self,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        committer: asyncio.Task[None],
    ) -> None:
        for handle in self._paused.values():
            handle.cancel()
        self._paused.clear()
        handed_before = self._handed_over
        self._begin_handover(list(self._leases))
        self._flush_aside()
        await self._finish_tasks()
        logger.info(
            "stopping: jobs not started were handed over",
            extra={"transport": self._label, "handed_over": self._handed_over - handed_before},
        )
        committer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await committer
        await self.commit()
        for lease in self._leases.values():
            lease.ours = False
        self._consumer = None
        side, self._side = self._side, None
        try:
            await stop_consumer(consumer, self._kafka, group_id=self._group)
        finally:
            if side is not None:
                with contextlib.suppress(KafkaError):
                    await side.stop()
            await producer.stop()
            await self._deliverer.aclose()
        logger.info("delivery worker stopped", extra={"transport": self._label})

    async def _finish_tasks(self) -> None:
        """At a stop: wait for every task (those started meanwhile too) up to the shutdown
        grace, then cancel what is left and wait for that, so that nothing runs any more when
        the transport is closed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._settings.shutdown_grace_s
        while self._tasks and loop.time() < deadline:
            await asyncio.wait(set(self._tasks), timeout=deadline - loop.time())
        abandoned = 0
        while self._tasks:
            pending = set(self._tasks)
            abandoned += len(pending)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if abandoned:
            logger.warning("abandoned %d tasks in flight; they will be redelivered", abandoned)

    def _lease(self, consumer: AIOKafkaConsumer, tp: TopicPartition) -> _Lease:
        """The lease of a partition records were read from (closed if no longer assigned)."""
        lease = self._leases.get(tp)
        if lease is None:
            lease = _Lease()
            if tp in consumer.assignment():
                self._leases[tp] = lease
            else:
                lease.open = lease.ours = False
        return lease

    def _begin_handover(self, tps: list[TopicPartition]) -> None:
        """Close the partitions' leases: their jobs not started yet are handed over."""
        for tp in tps:
            lease = self._leases.get(tp)
            if lease is not None:
                lease.open = False
        self._handing_over.set()  # wakes pointer runners waiting for room
        self._handing_over = asyncio.Event()

    async def _on_revoked(self, revoked: set[TopicPartition]) -> None:
        """Hand the partitions over: jobs not started are set aside by reference for the next
        owner, requests already started finish; then the finished offsets are committed."""
        tps = list(revoked)
        handed_before = self._handed_over
        self._begin_handover(tps)
        for tp in tps:
            self._held.pop(tp, None)
            handle = self._paused.pop(tp, None)
            if handle is not None:
                handle.cancel()
            self._pointer_paused.discard(tp)
        self._flush_aside()
        drained = await self._tracker.drain(tps, timeout=self._settings.shutdown_grace_s)
        if not drained:
            logger.warning("partitions revoked with jobs still in flight; they will be redelivered")
        if tps:
            logger.info(
                "partitions revoked: jobs not started were handed over",
                extra={
                    "transport": self._label,
                    "partitions": len(tps),
                    "handed_over": self._handed_over - handed_before,
                },
            )
        await self.commit(only=tps)
        for tp in tps:
            lease = self._leases.pop(tp, None)
            if lease is not None:
                lease.ours = False
        self._tracker.forget(tps)

    def _on_assigned(self, assigned: set[TopicPartition]) -> None:
        self._tracker.forget(list(assigned))
        for tp in assigned:
            if tp not in self._leases:
                self._leases[tp] = _Lease()


def _unreadable_reason(exc: ValidationError) -> str:
    return f"not a delivery job: {exc.error_count()} error(s), first: {exc.errors()[0]}"


def _key(record: ConsumerRecord) -> str | None:
    """The integration id a record is keyed by (jobs are keyed by integration id)."""
    key = record.key
    if not key:
        return None
    try:
        return str(key.decode())
    except UnicodeDecodeError:
        return None


def _duration(outcome: DeliveryOutcome, batch_seconds: float) -> float:
    if outcome.started_at is None or outcome.finished_at is None:
        return batch_seconds
    return (outcome.finished_at - outcome.started_at).total_seconds()


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Finishes and commits revoked partitions' work; starts assigned ones afresh."""

    def __init__(self, worker: DeliveryWorker) -> None:
        self._worker = worker

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._worker._on_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._worker._on_assigned(assigned)
