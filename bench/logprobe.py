"""What `make bench` measures of the attempt logs: made, stored, how late readable, list speed.

- `AttemptRecords` reads the run's logs topic (no consumer group) and keeps, per job id, the
  distinct attempt log ids the senders produced.
- `stored_ids` finds the ids of the log documents stored for given jobs.
- `LagSampler` picks jobs while a step emits and polls `GET /v2/integrations/{id}/jobs/{job}/logs`
  until the first log appears: lag = that response's wall time - the log's `finished_at`.
- `ListProbe` times `GET /v2/integrations/logs?page[limit]=25`, a few per second, one at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from pymongo import AsyncMongoClient

from integrations_common.jobs import job_id_for
from integrations_common.kafka import create_consumer
from integrations_common.settings import KafkaSettings
from integrations_common.store.log_documents import LOGS_COLLECTION

MONGO_TIMEOUT_MS = 30_000
REQUEST_TIMEOUT_S = 10.0


class AttemptRecords:
    """The attempt log records on one topic, read incrementally from its beginning."""

    def __init__(self, kafka: KafkaSettings, topic: str, partitions: int) -> None:
        self.topic = topic
        self.ids_by_job: dict[str, set[str]] = defaultdict(set)
        self.records_by_job: Counter[str] = Counter()
        self.unreadable = 0
        self._consumer: AIOKafkaConsumer = create_consumer(
            kafka, group_id=None, max_partition_fetch_bytes=4 * 1024 * 1024
        )
        self._partitions = [TopicPartition(topic, p) for p in range(partitions)]

    async def start(self) -> None:
        """Connect and assign every partition of the topic, from the beginning."""
        await asyncio.wait_for(self._consumer.start(), 60)
        self._consumer.assign(self._partitions)
        await asyncio.wait_for(self._consumer.seek_to_beginning(*self._partitions), 30)

    async def stop(self) -> None:
        """Close the consumer."""
        await asyncio.wait_for(self._consumer.stop(), 30)

    async def catch_up(self, timeout: float = 60) -> bool:
        """Read up to the topic's current end; answers whether it got there within `timeout`."""
        deadline = time.monotonic() + timeout
        ends = await asyncio.wait_for(self._consumer.end_offsets(self._partitions), 30)
        while time.monotonic() < deadline:
            positions = [await self._consumer.position(tp) for tp in self._partitions]
            if all(pos >= ends[tp] for pos, tp in zip(positions, self._partitions, strict=True)):
                return True
            batches = await self._consumer.getmany(timeout_ms=500, max_records=10_000)
            for records in batches.values():
                for record in records:
                    self._add(record.value)
        return False

    def _add(self, value: bytes | None) -> None:
        try:
            document = json.loads(value or b"")
            job_id, log_id = document["job_id"], document["id"]
        except (ValueError, KeyError, TypeError):
            self.unreadable += 1
            return
        self.ids_by_job[job_id].add(log_id)
        self.records_by_job[job_id] += 1

    def made(self, jobs: Iterable[str]) -> tuple[set[str], int]:
        """The distinct attempt log ids for `jobs`, and how many records carried them."""
        ids: set[str] = set()
        records = 0
        for job in jobs:
            ids.update(self.ids_by_job.get(job, ()))
            records += self.records_by_job.get(job, 0)
        return ids, records


async def stored_ids(
    client: AsyncMongoClient[dict[str, Any]], database: str, jobs: set[str]
) -> set[str]:
    """Ids of the run's log documents that belong to `jobs` (one scan of `_id` and `job_id`)."""
    found: set[str] = set()
    async for document in client[database][LOGS_COLLECTION].find({}, {"job_id": 1}):
        if document.get("job_id") in jobs:
            found.add(document["_id"])
    return found


def mongo_client(uri: str) -> AsyncMongoClient[dict[str, Any]]:
    """A client whose every operation is bounded by `timeoutMS`."""
    return AsyncMongoClient(
        uri, tz_aware=True, timeoutMS=MONGO_TIMEOUT_MS, serverSelectionTimeoutMS=10_000
    )


@dataclass
class LagSample:
    """One sampled job: when it was picked, and when its first log was readable."""

    integration_id: str
    job_id: str
    picked_at: float
    seen_at: float | None = None
    finished_at: float | None = None
    polls: int = 0
    errors: int = 0

    @property
    def lag_ms(self) -> float | None:
        """First-seen wall time minus the log's `finished_at`, in ms (None if never seen)."""
        if self.seen_at is None or self.finished_at is None:
            return None
        return (self.seen_at - self.finished_at) * 1000


def first_finished_at(body: dict[str, Any]) -> float | None:
    """`finished_at` (epoch seconds) of the lowest attempt in a page of logs, if any."""
    logs = body.get("data") or []
    if not logs:
        return None
    first = min(logs, key=lambda log: log.get("attempt", 0))
    return datetime.fromisoformat(first["meta"]["timestamps"]["finished_at"]).timestamp()


@dataclass
class LagSampler:
    """Picks jobs while a step emits; polls each until its first log can be read."""

    client: httpx.AsyncClient
    integration_ids: list[str]
    per_s: float = 3.0
    poll_s: float = 0.15
    samples: list[LagSample] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def pick_while(self, sent: dict[str, float], stop: asyncio.Event) -> None:
        """Every 1/per_s s, sample the newest event sent, for one random integration (0: none)."""
        last = None
        while self.per_s > 0 and not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1 / self.per_s)
            if stop.is_set() or not sent:
                continue
            event_id = next(reversed(sent))
            if event_id == last:
                continue
            last = event_id
            integration_id = random.choice(self.integration_ids)
            sample = LagSample(integration_id, job_id_for(event_id, integration_id), time.time())
            self.samples.append(sample)
            self._tasks.append(asyncio.create_task(self._poll(sample)))

    async def _poll(self, sample: LagSample) -> None:
        path = f"/v2/integrations/{sample.integration_id}/jobs/{sample.job_id}/logs"
        while True:
            sample.polls += 1
            try:
                response = await self.client.get(path)
            except httpx.HTTPError:
                sample.errors += 1
            else:
                now = time.time()
                if response.status_code == 200:
                    try:
                        finished = first_finished_at(response.json())
                    except (ValueError, KeyError, TypeError):
                        sample.errors += 1
                        finished = None
                    if finished is not None:
                        sample.seen_at, sample.finished_at = now, finished
                        return
                elif response.status_code != 404:
                    sample.errors += 1
            await asyncio.sleep(self.poll_s)

    def pending(self) -> int:
        """Samples whose log has not been seen yet."""
        return sum(1 for s in self.samples if s.seen_at is None)

    async def settle(self, timeout: float) -> None:
        """Let the pollers finish for up to `timeout` s, then cancel those still polling."""
        tasks, self._tasks = self._tasks, []
        if not tasks:
            return
        _, still = await asyncio.wait(tasks, timeout=timeout)
        for task in still:
            task.cancel()
        await asyncio.gather(*still, return_exceptions=True)


@dataclass
class ListProbe:
    """Times `GET /v2/integrations/logs?page[limit]=25`, one request at a time."""

    client: httpx.AsyncClient
    per_s: float = 3.0
    durations_ms: list[float] = field(default_factory=list)
    failed: int = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Request about `per_s` times a second until `stop` (0: never)."""
        while self.per_s > 0 and not stop.is_set():
            began = time.monotonic()
            try:
                response = await self.client.get("/v2/integrations/logs?page[limit]=25")
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            elapsed = time.monotonic() - began
            self.durations_ms.append(elapsed * 1000)
            self.failed += 0 if ok else 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, 1 / self.per_s - elapsed))


def api_client(base_url: str, token: str, connections: int) -> httpx.AsyncClient:
    """A bounded API client with timeouts."""
    return httpx.AsyncClient(
        base_url=base_url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=httpx.Timeout(REQUEST_TIMEOUT_S, pool=REQUEST_TIMEOUT_S),
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )
