"""`make bench-logs`: attempt logs/s into the store through the log writer, against raw PyMongo.

Each writer round produces N valid attempt logs (`AttemptLog.model_dump_json()`, keyed by job id,
every `--retry-every`-th job with a failed first attempt and a second one) into a fresh topic,
then starts the real `LogWriter` (in this process, default settings plus any `LOG_WRITER_*`
environment variables) on a fresh database and times from `start()` until `count_documents` sees
every log. The raw rounds write the same logs as equivalent documents into a fresh database with
the same indexes: `insert_many` in batches of 1,000, alone and followed per batch by one upsert
per job. The sides alternate; every topic and database is deleted afterwards. Writes the
`## Log writer` section of docs/benchmarks.md and exits 1 if a log or a job is missing."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import statistics
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from pydantic import SecretStr
from pymongo import AsyncMongoClient, UpdateOne
from pymongo.uri_parser import parse_uri

from bench.cpu import cpu_seconds, listening_pid, pid_from_file
from bench.job_size import order
from bench.report import LOCAL_STORE, machine, store_description, with_section
from integrations_api.logs.models import job_resource
from integrations_api.logs.store import LogStore
from integrations_common.attempts import AttemptLog, JobStatus, log_id_for
from integrations_common.events import CommerceEvent
from integrations_common.jobs import job_id_for
from integrations_common.kafka import (
    TopicSpec,
    connection_options,
    create_producer,
    ensure_topics,
)
from integrations_common.settings import KafkaSettings, MongoSettings, TopicSettings
from integrations_common.store.log_documents import JOBS_COLLECTION, LOGS_COLLECTION, created_fields
from integrations_common.tenancy import Tenant
from integrations_common.transports import Transport
from integrations_log_writer.settings import LogWriterSettings
from integrations_log_writer.worker import LogWriter
from tests.e2e.harness import REPO

STORE_ID = "bench-store"
ORG_ID = "bench-org"
RAW_BATCH = 1_000
MONGO_TIMEOUT_MS = 30_000
SECTION = "## Log writer"
WRITER, RAW, RAW_WITH_JOBS = "writer", "raw insert_many", "raw logs + job upserts"

MongoClient = AsyncMongoClient[dict[str, Any]]
IDLE_SAMPLE_S = 1.0


@dataclass(frozen=True)
class CpuPerLog:
    """CPU per stored log over a timed window, in microseconds: this process (the writer or the
    raw loop, with the bench's polling), the store's process (None when not found), and the
    store's background use just before the window (% of a core: other clients of a shared
    store), to read the store's figure against."""

    process_us: float
    store_us: float | None
    store_idle_pct: float | None


@dataclass
class CpuWindow:
    """Measures `CpuPerLog` between `start` and `stop`. The window opens after a collection of
    this process's garbage and, with `store_gc` (a private store only: it pauses every client),
    of the store JVM's, so that neither pays in the window for an earlier round's garbage."""

    store_pid: int | None
    store_gc: bool = False
    _process: float = 0.0
    _store: float | None = None
    _idle_pct: float | None = None

    async def start(self) -> None:
        """Sample the store's background use for `IDLE_SAMPLE_S`, then open the window."""
        gc.collect()
        if self.store_gc and self.store_pid is not None:
            await collect_store_garbage(self.store_pid)
        if self.store_pid is not None:
            before = cpu_seconds(self.store_pid)
            await asyncio.sleep(IDLE_SAMPLE_S)
            after = cpu_seconds(self.store_pid)
            if before is not None and after is not None:
                self._idle_pct = round(100 * (after - before) / IDLE_SAMPLE_S, 1)
        self._process = time.process_time()
        self._store = cpu_seconds(self.store_pid) if self.store_pid is not None else None

    def stop(self, logs: int) -> CpuPerLog:
        """Close the window: CPU per log of `logs` stored."""
        process = time.process_time() - self._process
        now = cpu_seconds(self.store_pid) if self.store_pid is not None else None
        store = None if now is None or self._store is None else now - self._store
        return CpuPerLog(
            process_us=round(1e6 * process / max(logs, 1), 1),
            store_us=None if store is None else round(1e6 * store / max(logs, 1), 1),
            store_idle_pct=self._idle_pct,
        )


async def collect_store_garbage(pid: int) -> None:
    """A full collection in the store's JVM (`jcmd <pid> GC.run`), bounded."""
    process = await asyncio.create_subprocess_exec(
        "jcmd", str(pid), "GC.run", stdout=asyncio.subprocess.DEVNULL
    )
    async with asyncio.timeout(60):
        await process.wait()


def store_pid(args: argparse.Namespace) -> int | None:
    """The store's pid: `--store-pid`, else the local store's pid file, else whichever process
    listens on the store's port on this machine."""
    if args.store_pid:
        return int(args.store_pid)
    pid = pid_from_file(REPO / ".run" / "mongodb.pid")
    if pid is None:
        port = parse_uri(args.mongodb_uri)["nodelist"][0][1]
        pid = listening_pid(port)
    return pid


def say(message: str) -> None:
    """Progress on stdout, at once."""
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


@dataclass(frozen=True)
class Round:
    """One timed run of one side."""

    side: str
    round: int
    logs: int
    stored: int
    jobs_expected: int
    jobs_stored: int
    jobs_settled: int
    first_stored_s: float
    seconds: float
    logs_per_s: float
    cpu: CpuPerLog = field(default_factory=lambda: CpuPerLog(0.0, None, None))
    load_1m: float = 0.0


def attempt_logs(
    n: int, retry_every: int, integrations: int = 10, *, events: bool = False
) -> tuple[list[AttemptLog], int]:
    """N attempt logs and how many distinct jobs they cover; every job ends succeeded. With
    `events`, first attempts carry their event (a one-item `order.paid`, as senders send it)."""
    integration_ids = [str(uuid.uuid4()) for _ in range(integrations)]
    now = datetime.now(UTC)
    logs: list[AttemptLog] = []
    jobs = 0
    while len(logs) < n:
        event_id, integration_id = str(uuid.uuid4()), integration_ids[jobs % integrations]
        job_id = job_id_for(event_id, integration_id)
        attempts = 2 if retry_every and jobs % retry_every == 0 and n - len(logs) >= 2 else 1
        jobs += 1
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            finished = now + timedelta(milliseconds=len(logs))
            logs.append(
                AttemptLog(
                    id=log_id_for(job_id, attempt),
                    job_id=job_id,
                    integration_id=integration_id,
                    org_id=ORG_ID,
                    store_id=STORE_ID,
                    transport=Transport.WEBHOOK,
                    event_id=event_id,
                    event_type="order.paid",
                    attempt=attempt,
                    succeeded=last,
                    status_code=204 if last else 503,
                    body="" if last else "service unavailable",
                    error_detail=None if last else "HTTP 503",
                    job_status=JobStatus.SUCCEEDED if last else JobStatus.RETRYING,
                    event_time=finished - timedelta(milliseconds=40),
                    routed_at=finished - timedelta(milliseconds=30),
                    started_at=finished - timedelta(milliseconds=5),
                    finished_at=finished,
                    event=sample_event(event_id, finished) if events and attempt == 1 else None,
                )
            )
    return logs, jobs


def sample_event(event_id: str, at: datetime) -> CommerceEvent:
    """A one-item `order.paid` event (about 620 bytes of JSON)."""
    return CommerceEvent(
        id=event_id,
        source="urn:orders",
        type="order.paid",
        time=at,
        orgid=ORG_ID,
        storeid=STORE_ID,
        data=order(1),
    )


def raw_document(log: AttemptLog) -> dict[str, Any]:
    """A log document equivalent to what the log writer stores for `log`."""
    document = log.model_dump(mode="python", exclude={"id"})
    document.update(
        _id=log.id,
        transport=log.transport.value,
        job_status=log.job_status.value,
        tenant_key=Tenant(org_id=log.org_id, store_id=log.store_id).key,
        latency_ms=log.latency_ms,
    )
    return document


def mongo_client(uri: str) -> MongoClient:
    """A client whose every operation is bounded by `timeoutMS`."""
    return AsyncMongoClient(
        uri, tz_aware=True, timeoutMS=MONGO_TIMEOUT_MS, serverSelectionTimeoutMS=10_000
    )


async def produce(kafka: KafkaSettings, topic: str, logs: list[AttemptLog]) -> None:
    """Write every log into `topic`, keyed by job id, and wait for the acknowledgements."""
    producer = create_producer(kafka, linger_ms=20)
    await producer.start()
    try:
        pending = [
            await producer.send(topic, log.model_dump_json().encode(), key=log.job_id.encode())
            for log in logs
        ]
        await asyncio.wait_for(asyncio.gather(*pending), 120)
    finally:
        await producer.stop()


async def delete_topic(kafka: KafkaSettings, topic: str) -> None:
    """Delete a topic this bench created (best effort, bounded)."""
    admin = AIOKafkaAdminClient(**connection_options(kafka))
    try:
        await asyncio.wait_for(admin.start(), 30)
        await asyncio.wait_for(admin.delete_topics([topic]), 30)
    except Exception as exc:
        say(f"  could not delete topic {topic}: {exc!r}")
    finally:
        await admin.close()


async def drop_database(client: MongoClient, name: str) -> None:
    """Drop a database this bench created (best effort, bounded by the client's timeoutMS)."""
    try:
        await client.drop_database(name)
    except Exception as exc:
        say(f"  could not drop database {name}: {exc!r}")


async def job_counts(client: MongoClient, database: str) -> tuple[int, int]:
    """Jobs stored, and those the API shows with the status of their last attempt (succeeded)."""
    stored = settled = 0
    async for document in client[database][JOBS_COLLECTION].find({}):
        stored += 1
        with contextlib.suppress(KeyError, ValueError, TypeError):
            settled += job_resource(document).meta.status == JobStatus.SUCCEEDED.value
    return stored, settled


async def writer_round(
    args: argparse.Namespace,
    *,
    kafka: KafkaSettings,
    client: MongoClient,
    logs: list[AttemptLog],
    jobs: int,
    number: int,
    store: int | None,
) -> Round:
    """Produce the logs into a fresh topic, then time the log writer until all are stored (the
    store polled with the cheap `count` command; `count_documents` scans on some stores)."""
    run = uuid.uuid4().hex[:8]
    topic, database = f"bench-logs-{run}.logs", f"bench_logs_{run}_writer"
    await ensure_topics(kafka, [TopicSpec(topic, args.partitions, 1)])
    try:
        await produce(kafka, topic, logs)
        settings = LogWriterSettings(
            kafka=kafka,
            topics=TopicSettings(logs=topic, partitions=args.partitions),
            create_topics=False,
            mongodb=MongoSettings(uri=SecretStr(args.mongodb_uri), database=database),
            group_id=f"bench-logs-{run}",
        )
        say(f"  writer {number}: {len(logs)} logs on {topic}; settings {writer_knobs(settings)}")
        collection = client[database][LOGS_COLLECTION]
        writer, stop = LogWriter(settings), asyncio.Event()
        window = CpuWindow(store, store_gc=args.store_gc)
        await window.start()
        began = time.monotonic()
        await asyncio.wait_for(writer.start(), 60)
        task = asyncio.create_task(writer.run(stop))
        stored, progress, first_stored_s = 0, began, 0.0
        try:
            while stored < len(logs) and time.monotonic() - began < args.timeout:
                if task.done():
                    task.result()
                    raise RuntimeError("the log writer stopped by itself")
                await asyncio.sleep(0.1)
                stored = await collection.estimated_document_count()
                if stored and not first_stored_s:
                    first_stored_s = time.monotonic() - began
                if time.monotonic() - progress > 5:
                    progress = time.monotonic()
                    say(f"  writer {number}: {stored}/{len(logs)} stored")
            seconds = time.monotonic() - began
            cpu = window.stop(stored)
        finally:
            stop.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(task, 60)
            await asyncio.wait_for(writer.stop(), 60)
        stored = await collection.count_documents({})
        jobs_stored, settled = await job_counts(client, database)
        await drop_database(client, database)
    finally:
        await delete_topic(kafka, topic)
    return Round(
        WRITER, number, len(logs), stored, jobs, jobs_stored, settled,
        round(first_stored_s, 2), round(seconds, 2), round(len(logs) / seconds, 1), cpu,
    )  # fmt: skip


def raw_job_upserts(logs: list[AttemptLog]) -> list[UpdateOne]:
    """One upsert per job among `logs`, of the kind the log writer sends (created fields,
    highest attempt, each attempt's outcome)."""
    by_job: dict[str, list[AttemptLog]] = {}
    for log in logs:
        by_job.setdefault(log.job_id, []).append(log)
    updates = []
    for job_id, attempts in by_job.items():
        first = attempts[0]
        created = created_fields(first)
        outcomes = {
            f"outcomes.a{log.attempt}": {"status": log.job_status.value, "code": log.status_code}
            for log in attempts
        }
        highest = {
            "attempts": max(log.attempt for log in attempts),
            "updated_at": max(log.finished_at for log in attempts),
        }
        updates.append(
            UpdateOne(
                {"_id": job_id},
                {"$setOnInsert": created, "$max": highest, "$set": outcomes},
                upsert=True,
            )
        )
    return updates


async def raw_round(
    args: argparse.Namespace,
    client: MongoClient,
    logs: list[AttemptLog],
    *,
    side: str,
    jobs: int,
    number: int,
    store: int | None,
) -> Round:
    """Time a plain loop of equivalent writes into a fresh database: per batch of 1,000 logs,
    `insert_many` of the log documents and (side `RAW_WITH_JOBS`) one upsert per job."""
    database = f"bench_logs_{uuid.uuid4().hex[:8]}_raw"
    db = client[database]
    try:
        retention = LogWriterSettings().retention
        await LogStore.of(db).ensure_indexes(retention)
        batches = [logs[start : start + RAW_BATCH] for start in range(0, len(logs), RAW_BATCH)]
        documents = [[raw_document(log) for log in batch] for batch in batches]
        upserts = [raw_job_upserts(batch) if side == RAW_WITH_JOBS else [] for batch in batches]
        window = CpuWindow(store, store_gc=args.store_gc)
        await window.start()
        began = time.monotonic()
        for batch_documents, batch_upserts in zip(documents, upserts, strict=True):
            await db[LOGS_COLLECTION].insert_many(batch_documents, ordered=False)
            if batch_upserts:
                await db[JOBS_COLLECTION].bulk_write(batch_upserts, ordered=False)
        seconds = time.monotonic() - began
        cpu = window.stop(len(logs))
        stored = await db[LOGS_COLLECTION].count_documents({})
        jobs_stored = await db[JOBS_COLLECTION].count_documents({})
    finally:
        await drop_database(client, database)
    return Round(
        side, number, len(logs), stored, jobs, jobs_stored if jobs else 0, 0,
        0.0, round(seconds, 2), round(len(logs) / seconds, 1), cpu,
    )  # fmt: skip


def writer_knobs(settings: LogWriterSettings) -> dict[str, Any]:
    """The writer's batching settings (`batch_*`, `write_*`)."""
    return {k: v for k, v in settings.model_dump().items() if k.startswith(("batch", "write_"))}


def failures(rounds: list[Round]) -> list[str]:
    """What went wrong, in words; empty when every log and job was stored."""
    problems = []
    for r in rounds:
        if r.stored < r.logs:
            problems.append(
                f"{r.side} round {r.round}: {r.logs - r.stored} of {r.logs} logs missing"
            )
        if r.jobs_stored < r.jobs_expected:
            problems.append(
                f"{r.side} round {r.round}: {r.jobs_stored}/{r.jobs_expected} jobs stored"
            )
        if r.side == WRITER and r.jobs_settled < r.jobs_expected:
            problems.append(
                f"writer round {r.round}: {r.jobs_expected - r.jobs_settled} jobs without "
                "the status of their last attempt"
            )
    return problems


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 1) if present else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def summary(rounds: list[Round]) -> dict[str, float | None]:
    """Medians per side (logs/s, CPU per log of this process and of the store), and the
    writer's logs/s as a share of each raw side's."""
    sides = {side: [r for r in rounds if r.side == side] for side in (WRITER, RAW, RAW_WITH_JOBS)}
    rate = {side: _median([r.logs_per_s for r in rs]) for side, rs in sides.items()}
    process = {side: _median([r.cpu.process_us for r in rs]) for side, rs in sides.items()}
    store = {side: _median([r.cpu.store_us for r in rs]) for side, rs in sides.items()}
    return {
        "writer_logs_per_s": rate[WRITER],
        "raw_logs_per_s": rate[RAW],
        "raw_with_jobs_logs_per_s": rate[RAW_WITH_JOBS],
        "ratio": _ratio(rate[WRITER], rate[RAW]),
        "ratio_with_jobs": _ratio(rate[WRITER], rate[RAW_WITH_JOBS]),
        "writer_cpu_us_per_log": process[WRITER],
        "writer_store_cpu_us_per_log": store[WRITER],
        "raw_cpu_us_per_log": process[RAW],
        "raw_store_cpu_us_per_log": store[RAW],
        "raw_with_jobs_cpu_us_per_log": process[RAW_WITH_JOBS],
        "raw_with_jobs_store_cpu_us_per_log": store[RAW_WITH_JOBS],
    }


def _shown(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def section(result: dict[str, Any]) -> str:
    """The `## Log writer` section of docs/benchmarks.md."""
    rows = [
        "| side | round | logs | stored | jobs stored | first stored s | seconds | logs/s "
        "| process CPU µs/log | store CPU µs/log | store idle % | load avg after |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rounds"]:
        jobs = f"{r['jobs_stored']}/{r['jobs_expected']}" if r["jobs_expected"] else "-"
        first = f"{r['first_stored_s']:g}" if r["side"] == WRITER else "-"
        rows.append(
            f"| {r['side']} | {r['round']} | {r['logs']} | {r['stored']} | {jobs} | {first} | "
            f"{r['seconds']:g} | {r['logs_per_s']:.0f} | {_shown(r['cpu']['process_us'])} | "
            f"{_shown(r['cpu']['store_us'])} | {_shown(r['cpu']['store_idle_pct'])} | "
            f"{r['load_1m']:g} |"
        )
    s, m = result["summary"], result["machine"]
    problems = result["failures"]
    verdict = "Every log and job was stored." if not problems else "Missing: " + "; ".join(problems)
    return "\n".join(
        [
            SECTION,
            "",
            "Attempt logs/s into the store through the real log writer (`LogWriter`, run in the",
            "bench's process), against plain PyMongo loops of equivalent writes on the same store:",
            "`raw insert_many` inserts the log documents in batches of 1,000; `raw logs + job",
            "upserts` also sends, per batch, one upsert per job of the kind the writer sends.",
            "Each writer round first produces N attempt logs into a fresh topic (every "
            f"{result['retry_every']}th job",
            "has a failed first attempt and a second one), then times from `LogWriter.start()`",
            "until `count_documents` sees every log, so it includes joining the consumer group and",
            "reading Kafka; a raw round times its write loop alone, documents built beforehand.",
            "Every round has a fresh topic and database with the writer's indexes, deleted",
            "afterwards; the sides alternate. `jobs stored` counts job documents against distinct",
            "jobs; for the writer, each must also read back (as the API shows it) with the",
            "status of its last attempt. `first stored s`: when `count_documents` (polled every",
            "100 ms) first saw a log, i.e. start-up and the first batch. `load avg after`: the",
            "machine's 1-minute load average when the round ended (2 CPUs; other work on the",
            "machine shows up there). CPU per stored log, over the same window, far less noisy",
            "than rates on a shared machine: `process` is the bench's own process (the writer,",
            "with its Kafka consumer and the 100 ms polls, or the raw loop alone), `store` the",
            "store's process (its /proc CPU time), and `store idle %` the store's use in the",
            "second before the window (other clients of a shared store, counted in `store` too).",
            "The polls use the `count` command (`count_documents` scans the collection here).",
            "Each window opens after a collection of this process's garbage (and, with",
            "`--store-gc`, for a private store only, of the store JVM's).",
            "",
            f"Reproduce: `{result['command']}` (run at {result['started_at']}). Store: "
            f"{result['store']}; writer settings {result['writer_settings']}. Machine: "
            f"{m['cpus']} CPUs ({m['cpu_model']}), Python {m['python']}, shared with other work.",
            "",
            *rows,
            "",
            f"Median logs/s: log writer {_shown(s['writer_logs_per_s'])}, raw insert_many "
            f"{_shown(s['raw_logs_per_s'])} (writer/raw {_shown(s['ratio'])}), raw logs + job "
            f"upserts {_shown(s['raw_with_jobs_logs_per_s'])} (writer/that "
            f"{_shown(s['ratio_with_jobs'])}). "
            f"Median CPU per log (process / store, µs): writer {_shown(s['writer_cpu_us_per_log'])}"
            f" / {_shown(s['writer_store_cpu_us_per_log'])}, raw insert_many "
            f"{_shown(s['raw_cpu_us_per_log'])} / {_shown(s['raw_store_cpu_us_per_log'])}, raw "
            f"logs + job upserts {_shown(s['raw_with_jobs_cpu_us_per_log'])} / "
            f"{_shown(s['raw_with_jobs_store_cpu_us_per_log'])}. " + verdict,
            "",
        ]
    )  # fmt: skip


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Alternate writer and raw rounds; answers the result document."""
    kafka = KafkaSettings(bootstrap_servers=args.kafka)
    logs, jobs = attempt_logs(args.logs, args.retry_every, events=args.events)
    say(f"{len(logs)} attempt logs over {jobs} jobs; {args.rounds} rounds per side")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    settings_shown = writer_knobs(LogWriterSettings())
    client = mongo_client(args.mongodb_uri)
    rounds: list[Round] = []
    try:
        for number in range(1, args.rounds + 1):
            for side in (s for s in (WRITER, RAW, RAW_WITH_JOBS) if s in args.sides):
                store = store_pid(args)
                if side == WRITER:
                    result = await writer_round(
                        args, kafka=kafka, client=client, logs=logs, jobs=jobs, number=number,
                        store=store,
                    )  # fmt: skip
                else:
                    result = await raw_round(
                        args, client, logs, side=side, jobs=jobs if side == RAW_WITH_JOBS else 0,
                        number=number, store=store,
                    )  # fmt: skip
                rounds.append(replace(result, load_1m=round(os.getloadavg()[0], 2)))
                say(
                    f"{result.side} round {number}: {result.stored}/{result.logs} logs in "
                    f"{result.seconds:g}s = {result.logs_per_s:.0f} logs/s"
                    + (f"; jobs {result.jobs_stored}/{jobs}" if result.jobs_expected else "")
                    + f"; CPU per log: process {result.cpu.process_us:g} us, store "
                    f"{_shown(result.cpu.store_us)} us "
                    f"(store idle {_shown(result.cpu.store_idle_pct)} %)"
                )
    finally:
        await client.close()
    return {
        "command": "make bench-logs"
        + (f" BENCH_LOGS_ARGS='{' '.join(sys.argv[1:])}'" if sys.argv[1:] else ""),
        "started_at": stamp,
        "machine": machine(),
        "store": store_description(args.mongodb_uri),
        "writer_settings": settings_shown,
        "retry_every": args.retry_every,
        "events": args.events,
        "rounds": [asdict(r) for r in rounds],
        "summary": summary(rounds),
        "failures": failures(rounds),
    }


def main() -> None:
    """Parse arguments, run, write docs/benchmarks.md; exit 1 if anything was not stored."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--logs", type=int, default=20_000, help="attempt logs per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per side, alternating")
    parser.add_argument("--retry-every", type=int, default=10, help="every Nth job: 2 attempts")
    parser.add_argument("--partitions", type=int, default=6, help="partitions of the logs topic")
    parser.add_argument("--timeout", type=float, default=600, help="max seconds per writer round")
    parser.add_argument("--no-docs", dest="docs", action="store_false", help="leave docs alone")
    parser.add_argument(
        "--events", action="store_true", help="first attempts carry their event (for replays)"
    )
    parser.add_argument(
        "--kafka", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    )
    parser.add_argument("--mongodb-uri", default=os.environ.get("MONGODB_URI", LOCAL_STORE))
    parser.add_argument(
        "--store-pid", type=int, help="the store's pid (default: .run/mongodb.pid, else the port's)"
    )
    parser.add_argument(
        "--store-gc",
        action="store_true",
        help="collect the store JVM's garbage before each round (jcmd; a private store only)",
    )
    parser.add_argument(
        "--sides",
        nargs="+",
        choices=(WRITER, "raw", "raw-jobs"),
        default=[WRITER, "raw", "raw-jobs"],
        help="which sides run (the summary needs all three)",
    )
    args = parser.parse_args()
    names = {WRITER: WRITER, "raw": RAW, "raw-jobs": RAW_WITH_JOBS}
    args.sides = [names[side] for side in args.sides]
    logging.basicConfig(level=logging.WARNING)
    result = asyncio.run(run(args))
    out_dir = REPO / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / f"bench-logs-{result['started_at']}.json").write_text(json.dumps(result, indent=2))
    if args.docs:
        docs = REPO / "docs" / "benchmarks.md"
        existing = docs.read_text() if docs.exists() else "# Benchmarks\n"
        docs.write_text(with_section(existing, SECTION, section(result)))
    say(f"summary: {result['summary']}")
    if result["failures"]:
        say("FAILED: " + "; ".join(result["failures"]))
        sys.exit(1)


if __name__ == "__main__":
    main()
