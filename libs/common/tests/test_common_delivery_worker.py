"""The delivery worker against real Kafka, with a scripted test transport.

The transport here is a stand-in for a destination (it answers outcomes it was told to); Kafka,
topics, consumer groups, tiers and commits are all real.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from integrations_common.attempts import AttemptLog, JobStatus
from integrations_common.delivery import (
    DEAD_LETTER_REASON_HEADER,
    DeliveryOutcome,
    DeliverySettings,
    DeliveryTransport,
    DeliveryWorker,
    may_start,
    metrics,
    not_started,
)
from integrations_common.delivery.oversize import smaller
from integrations_common.jobs import DeliveryJob
from integrations_common.kafka import create_producer, ensure_topics
from integrations_common.kafka_send import OutgoingRecord
from integrations_common.settings import KafkaSettings, TopicSettings
from integrations_common.transports import Transport
from integrations_testkit.factories import make_event, make_integration, make_job
from integrations_testkit.fixtures import TopicsFactory
from integrations_testkit.kafka_tools import publish_records

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
Script = Callable[[DeliveryJob], DeliveryOutcome]


class ScriptedTransport:
    """Answers each job with `script(job)` and remembers every job it was given."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.seen: list[DeliveryJob] = []
        self.attempted = asyncio.Event()
        self.closed = False

    async def deliver(self, jobs: Sequence[DeliveryJob]) -> Sequence[DeliveryOutcome]:
        self.seen.extend(jobs)
        self.attempted.set()
        await asyncio.sleep(0)
        return [self.script(job) for job in jobs]

    async def aclose(self) -> None:
        self.closed = True


def _job(event_id: str, integration_id: str = "int-1") -> DeliveryJob:
    integration = make_integration(
        integration_id=integration_id, configuration={"url": "http://127.0.0.1:1/"}
    )
    return make_job(make_event(event_id, time=T0), integration)


@pytest.fixture
def topics(make_topics: TopicsFactory) -> TopicSettings:
    """Unique topic names, deleted afterwards."""
    return make_topics("delivery", partitions=2)


async def _publish(kafka: KafkaSettings, topic: str, jobs: list[DeliveryJob]) -> None:
    producer = create_producer(kafka)
    await producer.start()
    try:
        for job in jobs:
            await producer.send_and_wait(topic, job.model_dump_json().encode(), key=job.kafka_key)
    finally:
        await producer.stop()


async def _read_all(
    kafka: KafkaSettings, topic: str, *, until: Callable[[list[bytes]], bool], timeout: float = 60
) -> list[tuple[bytes, dict[str, bytes]]]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka.bootstrap_servers,
        auto_offset_reset="earliest",
        group_id=None,
    )
    await consumer.start()
    found: list[tuple[bytes, dict[str, bytes]]] = []
    try:
        async with asyncio.timeout(timeout):
            while not until([v for v, _ in found]):
                batch = await consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    found.extend((r.value or b"", dict(r.headers)) for r in records)
    finally:
        await consumer.stop()
    return found


@contextlib.asynccontextmanager
async def _running(worker: DeliveryWorker) -> AsyncIterator[asyncio.Event]:
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)


@pytest.fixture
def kafka(kafka_bootstrap_servers: str) -> KafkaSettings:
    """The test Kafka, as the services' settings name it."""
    return KafkaSettings(bootstrap_servers=kafka_bootstrap_servers)


def _succeeding() -> ScriptedTransport:
    """A transport whose every attempt succeeds."""
    return ScriptedTransport(lambda job: DeliveryOutcome(succeeded=True, status_code=200))


def _worker(
    kafka: KafkaSettings,
    topics: TopicSettings,
    transport: DeliveryTransport,
    **settings: object,
) -> DeliveryWorker:
    options: dict[str, object] = {
        "retry_schedule": "1s,2s",
        "consumer_group": f"test-group-{uuid.uuid4().hex[:8]}",
        "batch_size": 8,
    }
    options.update(settings)
    return DeliveryWorker(
        transport=Transport.WEBHOOK,
        deliverer=transport,
        kafka=kafka,
        topics=topics,
        settings=DeliverySettings.model_validate(options),
    )


async def _small_dead_letter_topic(
    kafka: KafkaSettings, topics: TopicSettings, *, partitions: int
) -> str:
    """Create the dead-letter topic with a 20,000-byte record limit; its name."""
    dead_letters = topics.dead_letters(Transport.WEBHOOK)
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(dead_letters, partitions, 1, topic_configs={"max.message.bytes": "20000"})]
        )
    finally:
        await admin.close()
    return dead_letters


def _logs(values: list[bytes]) -> list[AttemptLog]:
    return [AttemptLog.model_validate_json(v) for v in values]


async def test_retries_through_tiers_then_dead_letters(
    kafka: KafkaSettings, topics: TopicSettings
) -> None:
    failing = ScriptedTransport(
        lambda job: DeliveryOutcome(
            succeeded=False, status_code=500, error_detail=f"nope {job.attempt}"
        )
    )
    worker = _worker(kafka, topics, failing)
    jobs = [_job("ev-fail")]
    async with _running(worker):
        await _publish(kafka, topics.deliveries(Transport.WEBHOOK), jobs)
        dead = await _read_all(
            kafka, topics.dead_letters(Transport.WEBHOOK), until=lambda v: len(v) >= 1
        )
        logs = _logs(
            [v for v, _ in await _read_all(kafka, topics.logs, until=lambda v: len(v) >= 3)]
        )

    assert [job.attempt for job in failing.seen] == [1, 2, 3]
    assert [(log.attempt, log.job_status) for log in logs] == [
        (1, JobStatus.RETRYING),
        (2, JobStatus.RETRYING),
        (3, JobStatus.FAILED),
    ]
    assert logs[2].error_detail == "nope 3"
    value, headers = dead[0]
    assert DeliveryJob.model_validate_json(value).job_id == jobs[0].job_id
    assert headers[DEAD_LETTER_REASON_HEADER] == b"exhausted"
    assert failing.closed


async def test_success_after_retry_after_and_give_up(
    kafka: KafkaSettings, topics: TopicSettings
) -> None:

    def script(job: DeliveryJob) -> DeliveryOutcome:
        if job.event.id == "ev-gone":
            return DeliveryOutcome(succeeded=False, status_code=410, give_up=True)
        if job.attempt == 1:
            # Asks for 2 s: the 1 s tier does not cover it, so the 2 s tier is chosen.
            return DeliveryOutcome(succeeded=False, status_code=429, retry_after=2)
        return DeliveryOutcome(succeeded=True, status_code=200, body=b"ok")

    transport = ScriptedTransport(script)
    worker = _worker(kafka, topics, transport)
    async with _running(worker):
        await _publish(
            kafka,
            topics.deliveries(Transport.WEBHOOK),
            [_job("ev-late", "int-a"), _job("ev-gone", "int-b")],
        )
        logs = _logs(
            [v for v, _ in await _read_all(kafka, topics.logs, until=lambda v: len(v) >= 3)]
        )
        tier = await _read_all(
            kafka, f"{topics.deliveries(Transport.WEBHOOK)}.retry.2s", until=lambda v: len(v) >= 1
        )

    by_event: dict[str, list[AttemptLog]] = defaultdict(list)
    for log in logs:
        by_event[log.event_id].append(log)
    assert [(x.attempt, x.job_status) for x in by_event["ev-late"]] == [
        (1, JobStatus.RETRYING),
        (2, JobStatus.SUCCEEDED),
    ]
    assert [(x.attempt, x.job_status) for x in by_event["ev-gone"]] == [(1, JobStatus.FAILED)]
    assert DeliveryJob.model_validate_json(tier[0][0]).attempt == 2


async def test_circuit_opens_and_offsets_are_committed(
    kafka: KafkaSettings, topics: TopicSettings
) -> None:
    failing = ScriptedTransport(
        lambda job: DeliveryOutcome(succeeded=False, error_detail="Connection refused")
    )
    group = f"test-group-{uuid.uuid4().hex[:8]}"
    worker = _worker(
        kafka,
        topics,
        failing,
        consumer_group=group,
        retry_schedule="30s",
        breaker_failure_threshold=2,
        batch_size=1,
        concurrency=1,
    )
    jobs = [_job(f"ev-{i}") for i in range(5)]
    async with _running(worker):
        await _publish(kafka, topics.deliveries(Transport.WEBHOOK), jobs)
        logs = _logs(
            [v for v, _ in await _read_all(kafka, topics.logs, until=lambda v: len(v) >= 5)]
        )
        await asyncio.sleep(1.5)  # let the commit loop run once more

    assert len(failing.seen) == 2
    skipped = [log for log in logs if log.error_detail and "circuit is open" in log.error_detail]
    assert len(skipped) == 3
    assert all(log.job_status == JobStatus.RETRYING for log in logs)
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    deliveries = topics.deliveries(Transport.WEBHOOK)
    committed = sum(
        meta.offset for tp, meta in offsets.items() if tp.topic == deliveries and meta.offset > 0
    )
    assert committed == 5
    assert TopicPartition(deliveries, 0) in offsets or TopicPartition(deliveries, 1) in offsets


async def test_skips_of_an_open_circuit_wait_for_their_pace_and_none_is_lost(
    kafka: KafkaSettings, topics: TopicSettings
) -> None:
    failing = ScriptedTransport(
        lambda job: DeliveryOutcome(succeeded=False, error_detail="Connection refused")
    )
    worker = _worker(
        kafka,
        topics,
        failing,
        retry_schedule="30s",
        breaker_failure_threshold=1,
        batch_size=8,
        skip_rate_per_s=20,
    )
    waited = metrics.SKIP_WAIT.labels("webhook")._value.get()
    jobs = [_job(f"ev-{i}") for i in range(120)]
    async with _running(worker):
        await _publish(kafka, topics.deliveries(Transport.WEBHOOK), jobs)
        values = await _read_all(kafka, topics.logs, until=lambda v: len(v) >= 120, timeout=90)
        retries = await _read_all(
            kafka,
            f"{topics.deliveries(Transport.WEBHOOK)}.retry.30s",
            until=lambda v: len(v) >= 120,
        )

    logs = _logs([v for v, _ in values])
    assert {log.job_id for log in logs} == {job.job_id for job in jobs}
    skipped = [log for log in logs if log.error_detail and "circuit is open" in log.error_detail]
    assert len(skipped) == 120 - len(failing.seen)
    assert len(skipped) > 64  # more than one burst, so some skips waited for their pace
    assert len(retries) == 120
    assert metrics.SKIP_WAIT.labels("webhook")._value.get() > waited


async def test_a_replay_is_attempted_while_the_circuit_is_open(
    kafka: KafkaSettings, topics: TopicSettings
) -> None:
    back_up: set[str] = set()
    transport = ScriptedTransport(
        lambda job: DeliveryOutcome(succeeded=job.job_id in back_up, status_code=200)
    )
    worker = _worker(
        kafka,
        topics,
        transport,
        retry_schedule="30s",
        breaker_failure_threshold=2,
        breaker_open_s=600,
        batch_size=1,
        concurrency=1,
    )
    deliveries = topics.deliveries(Transport.WEBHOOK)
    failing = [_job(f"ev-{i}") for i in range(3)]
    replay = _job("ev-replayed").model_copy(update={"attempt": 4, "replay": True})
    back_up.add(replay.job_id)
    async with _running(worker):
        await _publish(kafka, deliveries, failing)
        await _read_all(kafka, topics.logs, until=lambda v: len(v) >= len(failing))
        await _publish(kafka, deliveries, [replay, _job("ev-after")])
        logs = _logs(
            [v for v, _ in await _read_all(kafka, topics.logs, until=lambda v: len(v) >= 5)]
        )

    # Two failures opened the circuit; the third job was skipped; the replay went through
    # and closed the circuit, so the job after it was attempted too.
    assert [job.job_id for job in transport.seen][:2] == [j.job_id for j in failing[:2]]
    assert replay.job_id in [job.job_id for job in transport.seen]
    [replayed] = [log for log in logs if log.job_id == replay.job_id]
    assert (replayed.succeeded, replayed.attempt) == (True, 4)
    assert len(transport.seen) == 4


async def test_unreadable_records_are_dead_lettered_not_lost(
    kafka: KafkaSettings, topics: TopicSettings
) -> None:
    worker = _worker(kafka, topics, _succeeding())
    deliveries = topics.deliveries(Transport.WEBHOOK)
    async with _running(worker):
        producer = create_producer(kafka)
        await producer.start()
        try:
            await producer.send_and_wait(deliveries, b"{not json", key=b"k")
        finally:
            await producer.stop()
        await _publish(kafka, deliveries, [_job("ev-after")])
        dead = await _read_all(
            kafka, topics.dead_letters(Transport.WEBHOOK), until=lambda v: len(v) >= 1
        )
        logs = _logs(
            [v for v, _ in await _read_all(kafka, topics.logs, until=lambda v: len(v) >= 1)]
        )

    value, headers = dead[0]
    assert value == b"{not json"
    assert headers[DEAD_LETTER_REASON_HEADER] == b"unreadable"
    assert b"not a delivery job" in headers["x-error-detail"]
    assert [log.event_id for log in logs] == ["ev-after"]


async def test_a_dead_letter_kafka_refuses_as_too_large_goes_without_its_value(
    kafka: KafkaSettings, topics: TopicSettings
) -> None:
    # The dead-letter topic takes at most 20,000 bytes; the unreadable record is 19,900, so its
    # dead letter (the record plus headers) is refused, which used to stall the partition.
    dead_letters = await _small_dead_letter_topic(kafka, topics, partitions=2)
    garbage = b"z" * 19_900
    worker = _worker(kafka, topics, _succeeding())
    deliveries = topics.deliveries(Transport.WEBHOOK)
    async with _running(worker):
        await publish_records(kafka.bootstrap_servers, deliveries, [(b"k", garbage)])
        await _publish(kafka, deliveries, [_job("ev-after-large")])
        dead = await _read_all(kafka, dead_letters, until=lambda v: len(v) >= 1)
        logs = _logs(
            [v for v, _ in await _read_all(kafka, topics.logs, until=lambda v: len(v) >= 1)]
        )

    value, headers = dead[0]
    assert value == b""
    assert headers[DEAD_LETTER_REASON_HEADER] == b"unreadable"
    assert headers["x-truncated"] == b"true"
    assert headers["x-original-bytes"] == b"19900"
    assert headers["x-original-sha256"] == hashlib.sha256(garbage).hexdigest().encode()
    assert b"/" in headers["x-source"]
    assert [log.event_id for log in logs] == ["ev-after-large"]


async def test_records_refused_only_for_their_batch_are_sent_again_alone_intact(
    kafka: KafkaSettings, topics: TopicSettings
) -> None:
    # The dead-letter topic takes at most 20,000 bytes: each dead letter (6,000 bytes and its
    # headers) fits, but the producer batches them together (its batches are far larger), and
    # such a batch is refused as too large. Each record then goes alone, whole; none is shrunk.
    dead_letters = await _small_dead_letter_topic(kafka, topics, partitions=1)
    garbage = [bytes([ord("a") + i]) * 6_000 for i in range(8)]
    worker = _worker(kafka, topics, _succeeding())
    await ensure_topics(kafka, worker.topic_specs())  # all 8 wait before the worker starts
    records = [(b"k", value) for value in garbage]
    await publish_records(kafka.bootstrap_servers, topics.deliveries(Transport.WEBHOOK), records)
    async with _running(worker):
        dead = await _read_all(kafka, dead_letters, until=lambda v: len(v) >= len(garbage))

    assert sorted(value for value, _ in dead) == garbage
    assert all("x-truncated" not in headers for _, headers in dead)


async def test_a_backlog_beyond_the_fast_lane_is_read_from_kafka_once(
    kafka: KafkaSettings, topics: TopicSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fast lane holds 4 jobs and one poll returns all 60: the records beyond the lane are
    # held until it has room, not read (fetched and unpacked) again from Kafka.
    deliveries = topics.deliveries(Transport.WEBHOOK)
    read: list[int] = []
    getmany = AIOKafkaConsumer.getmany

    async def counted(
        self: AIOKafkaConsumer, *partitions: TopicPartition, **options: object
    ) -> dict[TopicPartition, list[ConsumerRecord]]:
        fetched: dict[TopicPartition, list[ConsumerRecord]] = await getmany(
            self, *partitions, **options
        )
        read.extend(r.offset for tp, rs in fetched.items() if tp.topic == deliveries for r in rs)
        return fetched

    monkeypatch.setattr(AIOKafkaConsumer, "getmany", counted)
    jobs = [_job(f"ev-{i}", f"int-{i % 6}") for i in range(60)]
    transport = _succeeding()
    worker = _worker(kafka, topics, transport, concurrency=4, batch_size=2)
    await ensure_topics(kafka, worker.topic_specs())
    await _publish(kafka, deliveries, jobs)
    async with _running(worker):
        values = await _read_all(kafka, topics.logs, until=lambda v: len(v) >= len(jobs))

    assert sorted(log.event_id for log in _logs([v for v, _ in values])) == sorted(
        job.event.id for job in jobs
    )
    assert sorted(job.event.id for job in transport.seen) == sorted(job.event.id for job in jobs)
    assert len(read) == len(jobs)


def test_an_oversized_attempt_log_keeps_everything_but_the_answer() -> None:
    record = OutgoingRecord(
        "logs",
        b"job-1",
        json.dumps({"id": "l-1", "body": "x" * 100, "error_detail": "HTTP 500"}).encode(),
        [],
    )
    small = smaller(record, logs_topic="logs")
    shrunk = json.loads(small.value or b"")
    assert (small.topic, small.key, shrunk["id"], shrunk["body"]) == ("logs", b"job-1", "l-1", "")
    assert shrunk["error_detail"].startswith("HTTP 500 (")


def test_an_oversized_first_attempt_log_also_drops_its_event() -> None:
    log = {"id": "l-1", "body": "", "error_detail": None, "event": {"data": "x" * 100}}
    record = OutgoingRecord("logs", b"job-1", json.dumps(log).encode(), [])
    shrunk = json.loads(smaller(record, logs_topic="logs").value or b"")
    assert "event" not in shrunk
    assert shrunk["id"] == "l-1"


async def test_the_commit_loop_stops_when_cancelled_just_as_a_commit_is_asked(
    kafka: KafkaSettings, topics: TopicSettings
) -> None:
    """Regression: Python 3.11's `asyncio.wait_for` swallows a cancel that lands while its
    inner wait has just finished, so the commit loop went on forever and the sender never
    stopped (seen in CI). A batch that finishes during shutdown asks for a commit exactly then.
    """
    worker = _worker(kafka, topics, ScriptedTransport(lambda job: DeliveryOutcome(succeeded=True)))
    committer = asyncio.create_task(worker._commit_loop())
    await asyncio.sleep(0.05)
    worker._commit_wanted.set()
    await asyncio.sleep(0)  # the loop's wait is done; the loop itself has not run yet
    committer.cancel()
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(5):
            await committer


async def test_a_retry_already_queued_uses_the_newest_integration_version_seen(
    kafka: KafkaSettings, topics: TopicSettings
) -> None:
    """One rule for every transport: the owner fixes the URL (version 2) while the version-1
    job waits in a retry tier; its retry goes to the fixed URL."""
    fixed_url = "http://127.0.0.1:2/fixed"
    transport = ScriptedTransport(
        lambda job: DeliveryOutcome(succeeded=job.integration.configuration["url"] == fixed_url)
    )
    broken = _job("ev-broken", integration_id="int-fix")
    fixed = broken.integration.model_copy(
        update={"version": 2, "configuration": {"url": fixed_url}}
    )
    fresh = make_job(make_event("ev-fresh", time=T0), fixed)
    worker = _worker(kafka, topics, transport, retry_schedule="3s")
    async with _running(worker):
        await _publish(kafka, topics.deliveries(Transport.WEBHOOK), [broken])
        async with asyncio.timeout(30):
            await transport.attempted.wait()
        await _publish(kafka, topics.deliveries(Transport.WEBHOOK), [fresh])
        logs = _logs(
            [v for v, _ in await _read_all(kafka, topics.logs, until=lambda v: len(v) >= 3)]
        )

    by_job = {(log.job_id, log.attempt): log for log in logs}
    assert not by_job[(broken.job_id, 1)].succeeded  # version 1, the broken URL
    assert by_job[(fresh.job_id, 1)].succeeded
    assert by_job[(broken.job_id, 2)].succeeded  # the retry, with version 2
    retried = [job for job in transport.seen if job.job_id == broken.job_id]
    assert [(job.attempt, job.integration.version) for job in retried] == [(1, 1), (2, 2)]


class HangingTransport:
    """A destination with `slots` connections whose first `hang` requests stay open until the
    worker hands their partition over (a revoke or a stop), as requests in flight at that
    moment do; later requests succeed at once. Asks `may_start()` after the wait for a slot,
    as the real transports do."""

    def __init__(self, *, slots: int, hang: int) -> None:
        self._slots = asyncio.Semaphore(slots)
        self._hang = hang
        self.started: list[DeliveryJob] = []
        self.handed_back: list[DeliveryJob] = []
        self.hanging = asyncio.Event()

    async def deliver(self, jobs: Sequence[DeliveryJob]) -> Sequence[DeliveryOutcome]:
        return await asyncio.gather(*(self._request(job) for job in jobs))

    async def _request(self, job: DeliveryJob) -> DeliveryOutcome:
        async with self._slots:
            if not may_start():
                self.handed_back.append(job)
                return not_started()
            self.started.append(job)
            if len(self.started) <= self._hang:
                if len(self.started) == self._hang:
                    self.hanging.set()
                while may_start():  # noqa: ASYNC110 - the gate is a predicate, not an event
                    await asyncio.sleep(0.01)
            return DeliveryOutcome(succeeded=True, status_code=200)

    async def aclose(self) -> None:
        pass


async def _committed(kafka: KafkaSettings, group: str, topic: str) -> dict[int, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}


async def _hanging_group(
    kafka: KafkaSettings, topics: TopicSettings, **settings: object
) -> tuple[list[DeliveryJob], str, HangingTransport, DeliveryWorker]:
    """120 queued jobs of 3 integrations, and a worker of a new group whose transport has 4
    connections and lets the first 4 requests hang: the jobs, the group, transport, worker."""
    jobs = [_job(f"ev-{i}", f"int-{i % 3}") for i in range(120)]
    group = f"test-group-{uuid.uuid4().hex[:8]}"
    transport = HangingTransport(slots=4, hang=4)
    worker = _worker(kafka, topics, transport, consumer_group=group, **settings)
    await ensure_topics(kafka, worker.topic_specs())
    await _publish(kafka, topics.deliveries(Transport.WEBHOOK), jobs)
    return jobs, group, transport, worker


def _event_ids(jobs: Sequence[DeliveryJob]) -> list[str]:
    return sorted(job.event.id for job in jobs)


def _logged_event_ids(values: list[tuple[bytes, dict[str, bytes]]]) -> list[str]:
    return sorted(log.event_id for log in _logs([v for v, _ in values]))


async def test_a_stop_waits_only_for_started_requests_and_hands_the_rest_over(
    kafka: KafkaSettings, topics: TopicSettings
) -> None:
    # 120 jobs are admitted at once, 4 requests start and hang, the rest wait for a
    # connection. A stop then: the 4 finish, the 116 others are handed over unattempted
    # (pointers on the slow lane's topic), and every offset is committed; a second worker of
    # the group delivers those 116, so every job is delivered once and logged once.
    jobs, group, first, worker = await _hanging_group(kafka, topics)
    deliveries = topics.deliveries(Transport.WEBHOOK)
    handed_over = metrics.HANDED_OVER.labels("webhook")._value.get()
    async with _running(worker):
        async with asyncio.timeout(60):
            await first.hanging.wait()

    assert len(first.started) == 4  # nothing was attempted after the stop began
    assert metrics.HANDED_OVER.labels("webhook")._value.get() - handed_over == len(jobs) - 4
    committed = await _committed(kafka, group, deliveries)
    assert sum(committed.values()) == len(jobs)  # the finished prefix is all of it

    second = _succeeding()
    async with _running(_worker(kafka, topics, second, consumer_group=group)):
        values = await _read_all(kafka, topics.logs, until=lambda v: len(v) >= len(jobs))

    assert _event_ids(first.started + second.seen) == _event_ids(jobs)  # each exactly once
    assert _logged_event_ids(values) == _event_ids(jobs)


async def test_a_revoke_hands_over_jobs_not_started_and_nothing_is_delivered_twice(
    kafka: KafkaSettings, topics: TopicSettings
) -> None:
    # A second member joins while the first holds 120 admitted jobs, 4 of them in requests
    # that hang: the rebalance revokes every partition of the first (Kafka's eager protocol),
    # which finishes its 4 started requests, hands the rest over and commits; then the two
    # share the partitions and the handed-over jobs. Nothing is lost, nothing duplicated.
    jobs, group, first, worker = await _hanging_group(kafka, topics)
    second = _succeeding()
    async with _running(worker):
        async with asyncio.timeout(60):
            await first.hanging.wait()
        async with _running(_worker(kafka, topics, second, consumer_group=group)):
            values = await _read_all(kafka, topics.logs, until=lambda v: len(v) >= len(jobs))

    assert first.handed_back  # the revoke handed jobs back unattempted
    assert _event_ids(first.started + second.seen) == _event_ids(jobs)  # each exactly once
    assert _logged_event_ids(values) == _event_ids(jobs)


async def test_a_stop_with_jobs_set_aside_hands_everything_over_once(
    kafka: KafkaSettings, topics: TopicSettings
) -> None:
    # Each integration may hold 8 jobs, so most of the 120 are set aside by reference and their
    # pointers wait in the slow lane for room that never comes (4 requests hang). A stop then
    # hands over the admitted jobs not started and the untouched pointers: a second worker of
    # the group delivers every job not delivered yet, once.
    jobs, group, first, worker = await _hanging_group(kafka, topics, integration_concurrency=8)
    async with _running(worker):
        async with asyncio.timeout(60):
            await first.hanging.wait()
            while worker._pointers == 0:  # noqa: ASYNC110 - the slow lane took pointers
                await asyncio.sleep(0.05)

    assert len(first.started) == 4
    second = _succeeding()
    async with _running(_worker(kafka, topics, second, consumer_group=group)):
        values = await _read_all(kafka, topics.logs, until=lambda v: len(v) >= len(jobs))

    assert _event_ids(first.started + second.seen) == _event_ids(jobs)  # each exactly once
    assert _logged_event_ids(values) == _event_ids(jobs)
