"""`make bench-noisy`: do bad endpoints delay anybody else's deliveries?

Per case, a fresh platform (isolated topics and database), 10 healthy webhook integrations on a
fast receiver (one port each: to the sender, each is its own host), plus one healthy SQS or
STOMP integration in the queue cases, `order.paid` at
`--rate` events/s. First a control phase with only the healthy integrations, then the bad ones
are created and the same load runs again. Latency is event time to the attempt's end, read from
the attempt logs on the run's logs topic, so it is measured the same way for every transport.
After each phase every job must have its logs: healthy jobs a success, bad jobs a final log
(dead-lettered, or succeeded for the slow endpoint) with every attempt 1..n logged. The
benchmark exits 1 if anything is missing. The `burst` case queues `--burst` jobs of one
integration in front of another's on the same partition while the sender is stopped, and
measures the others' first delivery after the sender's worker starts, against the same without
the burst.
Writes results/noisy-<stamp>/result.json and the "Noisy neighbours" section of
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.partitioner import murmur2

from bench.e2e_bench import say
from bench.load import EVENT_TYPE, LoadGenerator
from bench.memory import RssMeter
from bench.report import LOCAL_STORE, machine, percentile, with_section
from bench.stand import delete_run_topics
from integrations_common.events import CommerceEvent
from integrations_common.integrations import IntegrationSnapshot
from integrations_common.jobs import DeliveryJob, job_id_for
from integrations_common.kafka import create_producer
from integrations_common.settings import KafkaSettings
from integrations_common.transports import Transport
from tests.e2e.harness import REPO, Platform, RunConfig
from tests.e2e.tokens import mint_token

STORE_ID = "noisy-store"
ORG_ID = "noisy-org"
SECTION = "## Noisy neighbours"
TERMINAL = ("succeeded", "failed")
_WINDOW_S = 2  # healthy p99 is also reported per window of emission, to see when it rises


@dataclass(frozen=True)
class Case:
    """A bad-endpoint scenario."""

    name: str
    what: str
    bad_kind: str  # webhook, sqs, stomp
    bad_count: int = 1
    delay: str = "0"
    status: int = 204
    healthy_queue: str | None = None  # sqs or stomp: one healthy integration of that transport


CASES = {
    c.name: c
    for c in (
        Case("hang", "1 webhook answering after 15 s (times out at 10 s)", "webhook", delay="15"),
        Case("hang-3", "3 webhooks answering after 15 s", "webhook", bad_count=3, delay="15"),
        Case(
            "slow", "1 webhook answering after 5-9 s (within the timeout)", "webhook", delay="5-9"
        ),
        Case("5xx", "1 webhook failing fast with 500", "webhook", status=500),
        Case("sqs-hang", "1 SQS endpoint that never answers", "sqs", healthy_queue="sqs"),
        Case(
            "stomp-no-receipt",
            "1 STOMP broker that accepts and never sends receipts",
            "stomp",
            healthy_queue="stomp",
        ),
    )
}


@dataclass
class Logs:
    """Attempt logs of the run, read from its logs topic: job id -> (attempt, status, t, end)."""

    kafka: str
    topic: str
    by_job: dict[str, list[tuple[int, str, float]]] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Read the topic from its beginning, in the background."""
        consumer = AIOKafkaConsumer(
            self.topic, bootstrap_servers=self.kafka, auto_offset_reset="earliest", group_id=None
        )
        await consumer.start()
        self._task = asyncio.create_task(self._read(consumer))

    async def _read(self, consumer: AIOKafkaConsumer) -> None:
        try:
            while True:
                batch = await consumer.getmany(timeout_ms=200, max_records=5000)
                for records in batch.values():
                    for record in records:
                        log = json.loads(record.value or b"{}")
                        finished = datetime.fromisoformat(log["finished_at"]).timestamp()
                        entry = (int(log["attempt"]), str(log["job_status"]), finished)
                        self.by_job.setdefault(log["job_id"], []).append(entry)
        finally:
            await consumer.stop()

    async def stop(self) -> None:
        """Stop reading."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def succeeded_at(self, job_id: str) -> float | None:
        """When the job's successful attempt ended."""
        ends = [t for _, status, t in self.by_job.get(job_id, []) if status == "succeeded"]
        return min(ends) if ends else None

    def final(self, job_id: str) -> str | None:
        """`succeeded` or `failed` once the job reached an end, with every attempt logged."""
        entries = self.by_job.get(job_id, [])
        attempts = {a for a, _, _ in entries}
        for attempt, status, _ in entries:
            if status in TERMINAL and attempts >= set(range(1, attempt + 1)):
                return status
        return None


def start_process(
    args: list[str], out_dir: Path, name: str
) -> tuple[subprocess.Popen[bytes], list[int]]:
    """A helper process that writes its port to a ready file."""
    ready = out_dir / f"{name}.port"
    process = subprocess.Popen(
        [sys.executable, "-m", *args, "--ready-file", str(ready)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=(out_dir / f"{name}.log").open("wb"),
    )
    deadline = time.monotonic() + 30
    while not ready.exists() or not ready.read_text():
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError(f"{name} did not start")
        time.sleep(0.1)
    return process, [int(p) for p in ready.read_text().split(",")]


def receiver(out_dir: Path, name: str, *extra: str) -> tuple[subprocess.Popen[bytes], list[int]]:
    """A bench receiver process."""
    dump = out_dir / f"{name}.jsonl"
    return start_process(["bench.receiver", "--out", str(dump), *extra], out_dir, name)


class Api:
    """Creates integrations through the platform's API."""

    def __init__(self, base_url: str, token: str) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    async def create(self, name: str, kind: str, configuration: dict[str, Any]) -> str:
        """A new integration observing the benchmark's event type; answers its id.

        Retries a 503 (the shared store may be briefly unavailable) for up to a minute.
        """
        for _ in range(30):
            response = await self._post(name, kind, configuration)
            if response.status_code != 503:
                break
            await asyncio.sleep(2)
        response.raise_for_status()
        integration_id: str = response.json()["data"]["id"]
        return integration_id

    async def _post(self, name: str, kind: str, configuration: dict[str, Any]) -> httpx.Response:
        return await self._client.post(
            "/v2/integrations",
            json={
                "data": {
                    "type": "integration",
                    "name": name,
                    "integration_type": kind,
                    "observes": [EVENT_TYPE],
                    "configuration": configuration,
                }
            },
        )

    async def close(self) -> None:
        """Close the client."""
        await self._client.aclose()


async def sqs_queue(endpoint: str, name: str) -> str:
    """Create an ElasticMQ queue; answers its URL."""
    from aiobotocore.session import get_session  # noqa: PLC0415 - only the queue cases need it

    session = get_session()
    async with session.create_client(
        "sqs",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="x",
        aws_secret_access_key="x",  # noqa: S106 - ElasticMQ does not check
    ) as client:
        answer = await client.create_queue(QueueName=name)
        url: str = answer["QueueUrl"]
        return url


def sqs_config(url: str) -> dict[str, Any]:
    """An SQS integration's configuration."""
    return {
        "url": url,
        "aws_access_key_id": "AKIANOISYBENCHKEY01",
        "aws_secret_access_key": "noisy-bench-secret-access-key",
        "region": "us-east-1",
    }


def stomp_config(port: int, destination: str) -> dict[str, Any]:
    """A STOMP integration's configuration (ActiveMQ's local login)."""
    return {
        "addresses": [f"stomp://127.0.0.1:{port}"],
        "destination": destination,
        "username": "integrations",
        "password": "integrations",
    }


@dataclass
class Phase:
    """One phase's figures."""

    healthy_jobs: int
    healthy_delivered: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    queue_p50_ms: float | None = None
    queue_p99_ms: float | None = None
    bad_jobs: int = 0
    bad_final: int = 0
    bad_failed: int = 0
    bad_succeeded: int = 0
    bad_attempts_logged: int = 0
    rss_peak_mib: dict[str, float] = field(default_factory=dict)
    rss_by_minute: list[dict[str, float]] = field(default_factory=list)
    p99_by_window_ms: list[float] = field(default_factory=list)


def run_config(sqs_endpoint: str, extra_env: dict[str, str]) -> RunConfig:
    """Where the servers are, with the bench's delivery settings."""
    return RunConfig(
        kafka_bootstrap_servers=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        mongodb_uri=os.environ.get("MONGODB_URI", LOCAL_STORE),
        sqs_endpoint_url=sqs_endpoint,
        extra_env=extra_env,
    )


def sender_env(args: argparse.Namespace) -> dict[str, str]:
    """A short retry schedule, so bad jobs reach the dead-letter topic within the drain."""
    env = {}
    for prefix in ("WEBHOOK_SENDER_", "QUEUE_SENDER_"):
        env[f"{prefix}DELIVERY__RETRY_SCHEDULE"] = args.retry_schedule
        env[f"{prefix}LOG_LEVEL"] = "WARNING"
        for setting in args.delivery:
            name, _, value = setting.partition("=")
            env[f"{prefix}DELIVERY__{name.upper()}"] = value
    return env


async def phase(
    *,
    args: argparse.Namespace,
    generator: LoadGenerator,
    logs: Logs,
    healthy: list[str],
    bad: list[str],
    pids: dict[str, int],
    label: str,
    webhooks: int,
) -> Phase:
    """Emit for the duration, then wait for every job's logs.

    The first `webhooks` healthy integrations are webhooks (p50/p99); the rest are the healthy
    queue integration (queue p50/p99).
    """
    before = set(generator.sent)
    stop = asyncio.Event()
    meter = RssMeter(pids)
    metering = asyncio.create_task(meter.run(stop))
    duration = args.duration if bad else (args.control_duration or args.duration)
    say(f"  {label}: emitting {args.rate:g} events/s for {duration:g} s")
    await generator.run(rate=args.rate, duration=duration)
    events = [e for e in generator.sent if e not in before]
    healthy_jobs = {job_id_for(e, i): e for e in events for i in healthy}
    bad_jobs = [job_id_for(e, i) for e in events for i in bad]
    deadline = time.monotonic() + args.drain
    while time.monotonic() < deadline:
        done = sum(1 for j in healthy_jobs if logs.succeeded_at(j) is not None)
        final = sum(1 for j in bad_jobs if logs.final(j) is not None)
        if done == len(healthy_jobs) and final == len(bad_jobs):
            break
        say(f"  {label}: healthy {done}/{len(healthy_jobs)}, bad final {final}/{len(bad_jobs)}")
        await asyncio.sleep(3)
    stop.set()
    await metering
    latencies: list[float] = []
    webhook_ms: list[float] = []
    queue_ms: list[float] = []
    queue_jobs = {job_id_for(e, i) for e in events for i in healthy[webhooks:]}
    started = min((generator.sent[e] for e in events), default=0.0)
    windows: dict[int, list[float]] = defaultdict(list)
    for job, event in healthy_jobs.items():
        at = logs.succeeded_at(job)
        if at is not None:
            ms = (at - generator.sent[event]) * 1000
            latencies.append(ms)
            (queue_ms if job in queue_jobs else webhook_ms).append(ms)
            if job not in queue_jobs:
                windows[int((generator.sent[event] - started) // _WINDOW_S)].append(ms)
    finals = [logs.final(j) for j in bad_jobs]
    return Phase(
        healthy_jobs=len(healthy_jobs),
        healthy_delivered=len(latencies),
        p50_ms=round(percentile(webhook_ms, 50), 1),
        p99_ms=round(percentile(webhook_ms, 99), 1),
        max_ms=round(max(webhook_ms, default=0.0), 1),
        queue_p50_ms=round(percentile(queue_ms, 50), 1) if queue_ms else None,
        queue_p99_ms=round(percentile(queue_ms, 99), 1) if queue_ms else None,
        bad_jobs=len(bad_jobs),
        bad_final=sum(1 for f in finals if f is not None),
        bad_failed=finals.count("failed"),
        bad_succeeded=finals.count("succeeded"),
        bad_attempts_logged=sum(len(logs.by_job.get(j, [])) for j in bad_jobs),
        rss_peak_mib={k: round(v, 1) for k, v in meter.peak.items()},
        rss_by_minute=[
            {k: round(v, 1) for k, v in sample.items()} for _, sample in meter.samples[::60]
        ],
        p99_by_window_ms=[round(percentile(windows[w], 99), 1) for w in sorted(windows)],
    )


async def warm_up(generator: LoadGenerator, logs: Logs, integrations: list[str]) -> None:
    """One event, delivered to every integration, before measuring."""
    event = await generator.emit_one()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if all(logs.succeeded_at(job_id_for(event, i)) for i in integrations):
            return
        await asyncio.sleep(0.5)
    raise RuntimeError("warm-up: not every integration got its delivery")


async def run_case(case: Case, args: argparse.Namespace, out_dir: Path) -> dict[str, Any]:
    """Control phase, then the same load with the bad integrations."""
    case_dir = out_dir / case.name
    case_dir.mkdir(parents=True, exist_ok=True)
    helpers: list[subprocess.Popen[bytes]] = []
    sqs_endpoint = os.environ.get("SQS_ENDPOINT_URL", "http://127.0.0.1:9324")
    try:
        good, good_ports = receiver(case_dir, "healthy-receiver", "--ports", str(args.integrations))
        helpers.append(good)
        if case.bad_kind == "sqs":
            fake, (fake_port,) = start_process(
                ["bench.fakes", "sqs", "--upstream", sqs_endpoint, "--hang", "noisy-hang"],
                case_dir,
                "fake-sqs",
            )
            helpers.append(fake)
            sqs_endpoint = f"http://127.0.0.1:{fake_port}"
        config = run_config(sqs_endpoint, sender_env(args))
        platform = Platform(config, case_dir / "logs")
        say(f"{case.name}: starting the platform")
        platform.start()
        try:
            return await _measure(
                case,
                args=args,
                case_dir=case_dir,
                config=config,
                platform=platform,
                good_ports=good_ports,
                helpers=helpers,
            )
        finally:
            platform.stop()
            await delete_run_topics(platform)
    finally:
        for process in helpers:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=30)


@contextlib.asynccontextmanager
async def case_clients(
    platform: Platform, config: RunConfig, *, linger_ms: int = 5
) -> AsyncIterator[tuple[Api, AIOKafkaProducer, Logs]]:
    """The API client, an event producer and the logs reader of one case; closed afterwards."""
    api = Api(platform.api_url, mint_token(config, store_id=STORE_ID, org_id=ORG_ID))
    producer = create_producer(
        KafkaSettings(bootstrap_servers=config.kafka_bootstrap_servers), linger_ms=linger_ms
    )
    await producer.start()
    logs = Logs(config.kafka_bootstrap_servers, config.topics.logs)
    await logs.start()
    try:
        yield api, producer, logs
    finally:
        await logs.stop()
        await producer.stop()
        await api.close()


async def healthy_webhooks(api: Api, ports: list[int], *, signed: bool) -> list[str]:
    """One healthy webhook integration per receiver port (with a secret when `signed`)."""
    created = []
    for n, port in enumerate(ports):
        configuration = {"url": f"http://127.0.0.1:{port}/hook/{n}"}
        if signed:
            configuration["secret_key"] = f"s-{n}"
        created.append(await api.create(f"healthy {n}", "webhook", configuration))
    return created


async def _measure(
    case: Case,
    *,
    args: argparse.Namespace,
    case_dir: Path,
    config: RunConfig,
    platform: Platform,
    good_ports: list[int],
    helpers: list[subprocess.Popen[bytes]],
) -> dict[str, Any]:
    async with case_clients(platform, config) as (api, producer, logs):
        healthy = await healthy_webhooks(api, good_ports[: args.integrations], signed=True)
        sqs_endpoint = os.environ.get("SQS_ENDPOINT_URL", "http://127.0.0.1:9324")
        if case.healthy_queue == "sqs":
            url = await sqs_queue(sqs_endpoint, f"noisy-ok-{uuid.uuid4().hex[:8]}")
            healthy.append(await api.create("healthy sqs", "aws_sqs", sqs_config(url)))
        elif case.healthy_queue == "stomp":
            destination = f"/queue/noisy-ok-{uuid.uuid4().hex[:8]}"
            healthy.append(
                await api.create("healthy stomp", "stomp", stomp_config(61613, destination))
            )
        generator = LoadGenerator(producer, config.topics.events, STORE_ID, ORG_ID)
        await asyncio.sleep(2)
        await warm_up(generator, logs, healthy)
        pids = {
            name: pid
            for name, pid in platform.pids().items()
            if name in ("webhook-sender", "queue-sender")
        }
        run_phase = functools.partial(
            phase,
            args=args,
            generator=generator,
            logs=logs,
            healthy=healthy,
            pids=pids,
            webhooks=args.integrations,
        )
        control = await run_phase(bad=[], label=f"{case.name} control")
        bad = await create_bad(case, api, case_dir, helpers)
        await asyncio.sleep(5)  # the router reads the new integrations from the config topic
        noisy = await run_phase(bad=bad, label=f"{case.name} with bad")
    return {"case": case.name, "what": case.what, "control": control, "noisy": noisy}


async def create_bad(
    case: Case, api: Api, case_dir: Path, helpers: list[subprocess.Popen[bytes]]
) -> list[str]:
    """The bad integrations (and their bad destinations)."""
    if case.bad_kind == "webhook":
        process, ports = receiver(
            case_dir,
            "bad-receiver",
            "--delay",
            case.delay,
            "--status",
            str(case.status),
            "--ports",
            str(case.bad_count),
        )
        helpers.append(process)
        return [
            await api.create(f"bad {n}", "webhook", {"url": f"http://127.0.0.1:{ports[n]}/bad/{n}"})
            for n in range(case.bad_count)
        ]
    if case.bad_kind == "sqs":
        url = "http://127.0.0.1:9324/000000000000/noisy-hang"
        return [await api.create("bad sqs", "aws_sqs", sqs_config(url))]
    process, (port,) = start_process(["bench.fakes", "stomp"], case_dir, "fake-stomp")
    helpers.append(process)
    return [await api.create("bad stomp", "stomp", stomp_config(port, "/queue/noisy-bad"))]


def burst_job(integration: IntegrationSnapshot) -> DeliveryJob:
    """One queued job of the burst integration."""
    event = CommerceEvent(
        id=str(uuid.uuid4()),
        source="urn:bench",
        type=EVENT_TYPE,
        time=datetime.now(UTC),
        orgid=ORG_ID,
        storeid=STORE_ID,
        data={"data": {"type": "order", "id": str(uuid.uuid4()), "status": "complete"}},
    )
    return DeliveryJob.route(event, integration)


async def first_deliveries(
    platform: Platform,
    *,
    generator: LoadGenerator,
    logs: Logs,
    healthy: list[str],
    inject: int,
    burst: IntegrationSnapshot,
    partition: int,
    config: RunConfig,
) -> tuple[dict[str, float], dict[str, float]]:
    """Stop the sender, queue `inject` burst jobs then one event, start it: each healthy
    integration's first delivery in ms after the process's start and after its worker's start.

    The second excludes the process start-up (imports, settings), whose run-to-run variance
    (hundreds of ms on this shared machine) would otherwise swamp the burst's own delay.
    """
    sender = platform.services["webhook-sender"]
    sender.stop()
    topic = config.topics.deliveries(Transport.WEBHOOK)
    producer = generator.producer
    if inject:
        say(f"  queueing {inject} jobs of one integration on partition {partition}")
        template = burst_job(burst).model_dump_json().encode()
        pending = []
        for n in range(inject):
            value = template.replace(b'"job_id":"', f'"job_id":"burst-{n:07d}-'.encode(), 1)
            pending.append(
                await producer.send(topic, value, key=burst.id.encode(), partition=partition)
            )
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    event = await generator.emit_one()
    await asyncio.sleep(2)  # the router has routed the event behind the burst
    ready = time.time()  # the sender's start, restart included (the same with and without)
    platform.start("webhook-sender")
    worker_started = worker_started_at(sender.log_path)
    deadline = time.monotonic() + 120
    jobs = {i: job_id_for(event, i) for i in healthy}
    while time.monotonic() < deadline:
        if all(logs.succeeded_at(j) for j in jobs.values()):
            break
        await asyncio.sleep(0.2)

    def after(start: float) -> dict[str, float]:
        return {
            i: round(((logs.succeeded_at(j) or float("nan")) - start) * 1000, 1)
            for i, j in jobs.items()
        }

    return after(ready), after(worker_started)


def worker_started_at(log_path: Path) -> float:
    """When the sender's delivery worker last logged its start (its Kafka clients started,
    about to join the group), from the process's JSON log."""
    started = None
    for line in log_path.read_text(errors="replace").splitlines():
        if '"delivery worker started"' in line:
            started = datetime.fromisoformat(json.loads(line)["ts"]).timestamp()
    if started is None:
        raise RuntimeError(f"no 'delivery worker started' line in {log_path}")
    return started


def partition_of(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner picks for `key`."""
    return int(murmur2(key.encode()) & 0x7FFFFFFF) % partitions


async def run_burst(args: argparse.Namespace, out_dir: Path) -> dict[str, Any]:
    """Per-integration fairness: a queued burst of one integration, first deliveries of others."""
    case_dir = out_dir / "burst"
    case_dir.mkdir(parents=True, exist_ok=True)
    good, good_ports = receiver(case_dir, "healthy-receiver", "--ports", str(args.integrations + 1))
    # INFO: the sender's "delivery worker started" line times the first deliveries
    env = {**sender_env(args), "WEBHOOK_SENDER_LOG_LEVEL": "INFO"}
    config = run_config(os.environ.get("SQS_ENDPOINT_URL", "http://127.0.0.1:9324"), env)
    platform = Platform(config, case_dir / "logs")
    say("burst: starting the platform")
    platform.start()
    try:
        # the burst's 100,000 jobs are queued faster in larger batches
        async with case_clients(platform, config, linger_ms=20) as (api, producer, logs):
            return await _burst(
                args,
                config=config,
                platform=platform,
                api=api,
                producer=producer,
                logs=logs,
                good_ports=good_ports,
            )
    finally:
        platform.stop()
        good.terminate()
        good.wait(timeout=30)


async def _burst(
    args: argparse.Namespace,
    *,
    config: RunConfig,
    platform: Platform,
    api: Api,
    producer: AIOKafkaProducer,
    logs: Logs,
    good_ports: list[int],
) -> dict[str, Any]:
    healthy = await healthy_webhooks(api, good_ports[: args.integrations], signed=False)
    partitions = config.topics.partitions
    partition = partition_of(healthy[0], partitions)
    same = [i for i in healthy if partition_of(i, partitions) == partition]
    now = datetime.now(UTC)
    burst = IntegrationSnapshot(
        id=f"burst-{uuid.uuid4().hex[:8]}",
        org_id=ORG_ID,
        store_id=STORE_ID,
        name="burst",
        integration_type=Transport.WEBHOOK,
        observes=[EVENT_TYPE],
        configuration={"url": f"http://127.0.0.1:{good_ports[-1]}/burst"},
        version=1,
        created_at=now,
        updated_at=now,
    )
    generator = LoadGenerator(producer, config.topics.events, STORE_ID, ORG_ID)
    await asyncio.sleep(2)
    await warm_up(generator, logs, healthy)
    say("burst: control (sender restarted, nothing queued)")
    restart = functools.partial(
        first_deliveries,
        platform,
        generator=generator,
        logs=logs,
        healthy=healthy,
        burst=burst,
        partition=partition,
        config=config,
    )
    control_from_start, control = await restart(inject=0)
    say(f"burst: {args.burst} queued jobs of one integration")
    started = time.monotonic()
    burst_from_start, with_burst = await restart(inject=args.burst)
    deadline = time.monotonic() + args.drain
    done = 0
    while time.monotonic() < deadline:
        done = sum(
            1
            for job, entries in list(logs.by_job.items())
            if job.startswith("burst-") and any(s == "succeeded" for _, s, _ in entries)
        )
        say(f"  burst: {done}/{args.burst} burst jobs delivered")
        if done >= args.burst:
            break
        await asyncio.sleep(5)
    drained_s = round(time.monotonic() - started, 1)
    delays = {i: round(with_burst[i] - control[i], 1) for i in healthy}
    return {
        "case": "burst",
        "burst": args.burst,
        "partition": partition,
        "same_partition": same,
        "control_ms": control,
        "burst_ms": with_burst,
        "control_from_start_ms": control_from_start,
        "burst_from_start_ms": burst_from_start,
        "delay_ms": delays,
        "same_partition_max_delay_ms": max(delays[i] for i in same),
        "other_partitions_max_delay_ms": max(
            (delays[i] for i in healthy if i not in same), default=0.0
        ),
        "burst_delivered": done,
        "burst_drained_s": drained_s,
    }


def row_command(command: str, case: str) -> str:
    """The command that reruns one case of `command`."""
    words = command.split()
    for index, word in enumerate(words):
        if word.startswith(("--cases", "NOISY_ARGS='--cases")) and index + 1 < len(words):
            words[index + 1] = case
    return " ".join(words)


def ratio(control: float, noisy: float) -> float:
    """noisy / control, two decimals."""
    return round(noisy / control, 2) if control else float("inf")


def problems(results: list[dict[str, Any]]) -> list[str]:
    """Lost deliveries or incomplete logs."""
    found = []
    for result in results:
        if result["case"] == "burst":
            if result["burst_delivered"] < result["burst"]:
                found.append(f"burst: {result['burst'] - result['burst_delivered']} not delivered")
            continue
        for name in ("control", "noisy"):
            ph: Phase = result[name]
            if ph.healthy_delivered < ph.healthy_jobs:
                missing = ph.healthy_jobs - ph.healthy_delivered
                found.append(f"{result['case']} {name}: {missing} healthy jobs without a success")
            if ph.bad_final < ph.bad_jobs:
                missing = ph.bad_jobs - ph.bad_final
                found.append(f"{result['case']} {name}: {missing} bad jobs without final logs")
    return found


def section(results: list[dict[str, Any]], command: str, stamp: str) -> str:
    """The docs/benchmarks.md section."""
    lines = [
        SECTION,
        "",
        "Does a bad endpoint delay anybody else? Each case runs a fresh platform with "
        "10 healthy webhook integrations on a fast receiver process, each on its own port (so its "
        "own host:port to the sender; each bad webhook too), plus one healthy SQS or STOMP "
        "integration in the queue cases, at the offered rate, first alone (control), then with "
        "the bad integration(s) added, same run. Latency: the event's time to the end of its "
        "successful attempt (attempt logs on the run's logs topic). Every job's logs are checked "
        "after each phase: healthy jobs succeeded; bad jobs reached their end (dead-lettered, or "
        "delivered for the slow endpoint) with every attempt logged; the run fails otherwise.",
        "",
        f"Reproduce: `{command}` (run at {stamp}; retry schedule shortened so bad jobs are "
        "dead-lettered within the drain).",
        "",
        "| case | bad endpoint | healthy webhooks p50 ms control → with bad | healthy webhooks "
        "p99 ms control → with bad | p99 ratio | healthy queue integration p50 / p99 ms control "
        "→ with bad | bad jobs: final logs / jobs (dead-lettered, delivered) | "
        "bad attempts logged | sender RSS MiB control → with bad | command |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        if result["case"] == "burst":
            continue
        c: Phase = result["control"]
        n: Phase = result["noisy"]
        rss = ", ".join(
            f"{k} {c.rss_peak_mib.get(k, 0):g} → {v:g}" for k, v in n.rss_peak_mib.items()
        )
        queue = "—"
        if c.queue_p99_ms is not None and n.queue_p99_ms is not None:
            queue = (
                f"{c.queue_p50_ms:g} / {c.queue_p99_ms:g} → {n.queue_p50_ms:g} / {n.queue_p99_ms:g}"
            )
        lines.append(
            f"| {result['case']} | {result['what']} | {c.p50_ms:g} → {n.p50_ms:g} | "
            f"{c.p99_ms:g} → {n.p99_ms:g} | {ratio(c.p99_ms, n.p99_ms):g}x | {queue} | "
            f"{n.bad_final} / {n.bad_jobs} ({n.bad_failed}, {n.bad_succeeded}) | "
            f"{n.bad_attempts_logged} | {rss} | "
            f"`{row_command(result.get('command', command), result['case'])}` |"
        )
    for result in results:
        if result["case"] != "burst":
            continue
        delays = result["delay_ms"]
        lines += [
            "",
            f"Burst fairness: {result['burst']:,} jobs of one integration queued on partition "
            f"{result['partition']} while the sender was stopped, then one event for the 10 "
            "healthy integrations; first delivery measured from the start of the sender's "
            "delivery worker (its log line; the process's start-up before it varies by hundreds "
            "of ms between restarts here), against the same restart with nothing queued; the "
            "last column counts from the process's start instead:",
            "",
            "| integration | same partition as the burst | first delivery ms after the worker's "
            "start, control → burst | delay ms | from the process's start: control → burst ms |",
            "|---|---|---|---|---|",
        ]
        for index, (integration, delay) in enumerate(delays.items()):
            same = "yes" if integration in result["same_partition"] else "no"
            lines.append(
                f"| healthy {index} | {same} | {result['control_ms'][integration]:g} → "
                f"{result['burst_ms'][integration]:g} | {delay:g} | "
                f"{result['control_from_start_ms'][integration]:g} → "
                f"{result['burst_from_start_ms'][integration]:g} |"
            )
        lines += [
            "",
            f"Largest delay: {result['same_partition_max_delay_ms']:g} ms on the burst's "
            f"partition, {result['other_partitions_max_delay_ms']:g} ms on the others; "
            f"{result['burst_delivered']:,} of the {result['burst']:,} burst jobs delivered "
            f"{result['burst_drained_s']:g} s after they were queued.",
        ]
    return "\n".join(lines) + "\n"


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every chosen case, in order."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = REPO / "results" / f"noisy-{stamp}"
    out_dir.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    for name in args.cases.split(","):
        if name == "burst":
            results.append(await run_burst(args, out_dir))
        else:
            results.append(await run_case(CASES[name], args, out_dir))
        say(json.dumps(_jsonable(results[-1])))
    command = f"make bench-noisy NOISY_ARGS='{' '.join(sys.argv[1:])}'"
    document = {
        "command": command,
        "started_at": stamp,
        "machine": machine(),
        "results": [_jsonable(r) for r in results],
        "problems": problems(results),
    }
    (out_dir / "result.json").write_text(json.dumps(document, indent=2))
    if args.write_docs:
        page = REPO / "docs" / "benchmarks.md"
        existing = page.read_text() if page.exists() else ""
        page.write_text(with_section(existing, SECTION, section(results, command, stamp)))
    return results


def render(files: list[Path]) -> None:
    """Write the docs section from result.json files; a later file's case replaces an earlier
    one's (each row keeps the command of its own run)."""
    by_case: dict[str, dict[str, Any]] = {}
    stamps, commands = [], []
    for file in files:
        document = json.loads(file.read_text())
        stamps.append(document["started_at"])
        commands.append(document["command"])
        for stored in document["results"]:
            result = dict(stored, command=document["command"])
            for name in ("control", "noisy"):
                if name in result:
                    result[name] = Phase(**result[name])
            by_case[result["case"]] = result
    order = [*CASES, "burst"]
    results = sorted(by_case.values(), key=lambda r: order.index(r["case"]))
    page = REPO / "docs" / "benchmarks.md"
    existing = page.read_text() if page.exists() else ""
    text = section(results, " and ".join(f"`{c}`" for c in commands).strip("`"), ", ".join(stamps))
    page.write_text(with_section(existing, SECTION, text))


def _jsonable(value: Any) -> Any:
    if isinstance(value, Phase):
        return value.__dict__
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", default=",".join([*CASES, "burst"]))
    parser.add_argument("--integrations", type=int, default=10, help="healthy webhooks")
    parser.add_argument("--rate", type=float, default=100, help="order.paid events/s")
    parser.add_argument("--duration", type=float, default=20, help="seconds per phase")
    parser.add_argument(
        "--control-duration", type=float, default=None, help="seconds of the control phase"
    )
    parser.add_argument("--drain", type=float, default=300, help="max seconds to wait for logs")
    parser.add_argument("--burst", type=int, default=100_000, help="queued jobs in the burst")
    parser.add_argument("--retry-schedule", default="2s,5s")
    parser.add_argument(
        "--delivery",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a senders' delivery setting, e.g. skip_rate_per_s=0 (repeatable)",
    )
    parser.add_argument("--no-docs", dest="write_docs", action="store_false")
    parser.add_argument(
        "--render", nargs="+", type=Path, help="only write the docs section from result.json files"
    )
    args = parser.parse_args()
    if args.render:
        render(args.render)
        return
    results = asyncio.run(run(args))
    found = problems(results)
    if found:
        say("FAILED: " + "; ".join(found))
        sys.exit(1)
    say("every job logged to its end; nothing lost")


if __name__ == "__main__":
    main()
