"""`make chaos`: fault injection under steady load, proving that nothing is lost.

For each scenario a fresh isolated platform runs with webhook, SQS (and, with `--stomp`, STOMP)
integrations under a steady load of events; the fault is injected mid-run; then the load stops and
the run waits for the backlog to drain. Measured per scenario: lost deliveries (expected minus
delivered, must be 0), duplicates (as a % of deliveries), the time to recover (from the fault until
every delivery of every event emitted before the fault was over has arrived), and the longest
stall of one integration (the longest gap between two consecutive first deliveries of one
integration's events, from the fault on).

`--webhooks 10 --rate 100 --stomp --replicas 2` is the at-load run (issue 15): 1,000 webhook
deliveries/s offered, SQS and STOMP alongside, two processes of every worker, so that a killed
process that stays down has a peer to take its partitions over. The webhook receiver is its own
process (`bench.chaos_receiver`). A scenario counts only when every part did its work: every
delivery arrived, every attempt log on the logs topic was stored, and at the end every process
that should run is ready with its consumer groups stable; otherwise the run prints NOT A RESULT
and exits 1. Writes results/chaos-*/result.json and docs/reliability.md: the whole page for
`make chaos` (all scenarios, default options), or with `--doc-load` the rows of its "At load"
section for the scenarios run (each row with its command and time).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import itertools
import json
import os
import shlex
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import stomp
from aiobotocore.session import get_session
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from bench.e2e_bench import check_logs
from bench.load import EVENT_TYPE, order_paid_event
from bench.logprobe import AttemptRecords, mongo_client
from bench.replicas import (
    balanced_webhooks,
    delivered_by_replica,
    replace_section,
    running_replicas,
    scale,
    wait_group,
    wide_run_config,
)
from bench.stand import delete_run_topics
from integrations_common.jobs import job_id_for
from integrations_common.kafka import create_producer
from integrations_common.settings import KafkaSettings
from tests.e2e.harness import REPO, Platform, RunConfig
from tests.e2e.tokens import mint_token

STORE_ID = "chaos-store"
ORG_ID = "chaos-org"
FAST_RETRIES = "1s,2s,4s,8s,15s,30s"
WORKERS = ("router", "webhook-sender", "queue-sender", "log-writer")
LOAD_HEADING = "At load"


def say(message: str) -> None:
    """Progress on stdout, at once."""
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


@dataclass
class Deliveries:
    """Every delivery seen at every destination, keyed by (event id, integration id)."""

    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    first_arrival: dict[tuple[str, str], float] = field(default_factory=dict)

    def record(self, delivered_id: str, integration_id: str, arrived_at: float) -> None:
        """Count one arrival of an event or job id for an integration."""
        key = (delivered_id, integration_id)
        self.counts[key] = self.counts.get(key, 0) + 1
        self.first_arrival[key] = min(self.first_arrival.get(key, arrived_at), arrived_at)

    def by_event(
        self, event_of: dict[str, str]
    ) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], float]]:
        """Counts and first arrivals keyed by (event id, integration id), job ids resolved."""
        counts: dict[tuple[str, str], int] = {}
        first: dict[tuple[str, str], float] = {}
        for (delivered_id, integration_id), n in self.counts.items():
            key = (event_of.get(delivered_id, delivered_id), integration_id)
            counts[key] = counts.get(key, 0) + n
            arrived = self.first_arrival[(delivered_id, integration_id)]
            first[key] = min(first.get(key, arrived), arrived)
        return counts, first


@dataclass
class SteadyLoad:
    """Emits events at a steady rate; an event counts as sent once Kafka acknowledged it."""

    producer: AIOKafkaProducer
    topic: str
    rate: float
    sent: dict[str, float] = field(default_factory=dict)
    emitting_s: float = 0.0
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def _send(self, event_id: str) -> None:
        now = time.time()
        value = order_paid_event(event_id=event_id, store_id=STORE_ID, org_id=ORG_ID, sent_at=now)
        while True:
            try:
                await self.producer.send_and_wait(self.topic, value, key=event_id.encode())
            except KafkaError:  # a broker restart: keep trying, that is the scenario
                await asyncio.sleep(0.5)
            else:
                self.sent[event_id] = now
                return

    async def run(self) -> None:
        """Emit until `stop`, keeping to the rate (catching up after a late tick); waits for
        every send in flight."""
        tasks: set[asyncio.Task[None]] = set()
        began = time.monotonic()
        emitted = 0
        while not self._stop.is_set():
            due = int((time.monotonic() - began) * self.rate) + 1
            while emitted < due:
                task = asyncio.create_task(self._send(str(uuid.uuid4())))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                emitted += 1
            await asyncio.sleep(min(0.01, 1 / self.rate))
        self.emitting_s = time.monotonic() - began
        await asyncio.gather(*tasks)

    def stop(self) -> None:
        """Stop emitting."""
        self._stop.set()


@dataclass(frozen=True)
class ScenarioResult:
    """What one fault did."""

    scenario: str
    events: int
    expected_deliveries: int
    delivered: int
    lost: int
    duplicates: int
    duplicate_percent: float
    recover_s: float | None
    longest_stall_s: float | None = None
    fault_s: float = 0.0
    incomplete: tuple[str, ...] = ()
    events_per_s: float = 0.0
    p99_before_ms: float = 0.0
    worst_after_ms: float | None = None


class ReceiverProcess:
    """The webhook receiver (`bench.chaos_receiver`) in its own process."""

    def __init__(self, out_dir: Path) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self._ready, self._dump = out_dir / "receiver.port", out_dir / "arrivals.jsonl"
        self._process: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self) -> None:
        """Start it and wait for its port."""
        self._ready.unlink(missing_ok=True)
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.chaos_receiver",
                "--ready-file",
                str(self._ready),
                "--out",
                str(self._dump),
            ],
            cwd=REPO,
        )
        deadline = time.monotonic() + 30
        while not self._ready.exists() or not self._ready.read_text():
            if time.monotonic() > deadline or self._process.poll() is not None:
                raise RuntimeError("the chaos receiver did not start")
            time.sleep(0.1)
        self.port = int(self._ready.read_text())

    @property
    def url(self) -> str:
        """Where webhooks post."""
        return f"http://127.0.0.1:{self.port}/hook"

    async def control(self, **behaviour: float) -> None:
        """Change how it answers (`fail_ratio`, `hang_s`)."""
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.post(f"http://127.0.0.1:{self.port}/control", json=behaviour)
            response.raise_for_status()

    async def distinct(self) -> int:
        """Jobs it has answered with 2xx so far."""
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(f"http://127.0.0.1:{self.port}/count")
            count: int = response.json()["distinct"]
            return count

    def stop(self) -> list[tuple[str, float]]:
        """SIGTERM it; answer every 2xx arrival as (job id, time)."""
        if self._process is None:
            return []
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if not self._dump.exists():
            return []
        arrivals = []
        for line in self._dump.read_text().splitlines():
            record = json.loads(line)
            arrivals.append((record["job"], record["t"]))
        return arrivals


class StompCollector(stomp.ConnectionListener):  # type: ignore[misc]
    """Every message on one STOMP destination, with its arrival time (a stomp.py thread)."""

    def __init__(self, url: str, destination: str) -> None:
        parts = urlsplit(url)
        self.messages: list[tuple[bytes | str, float]] = []
        self._lock = threading.Lock()
        self._conn = stomp.Connection12([(parts.hostname or "127.0.0.1", parts.port or 61613)])
        self._conn.set_listener("chaos", self)
        self._conn.connect(parts.username, parts.password, wait=True)
        self._conn.subscribe(destination, id="chaos", ack="auto")

    def on_message(self, frame: Any) -> None:
        with self._lock:
            self.messages.append((frame.body, time.time()))

    def take(self) -> list[tuple[bytes | str, float]]:
        """The messages that arrived since the last call."""
        with self._lock:
            taken, self.messages = self.messages, []
        return taken

    def close(self) -> None:
        """Disconnect."""
        with contextlib.suppress(Exception):
            self._conn.disconnect()


@dataclass
class Rig:
    """One platform with a webhook receiver, an SQS queue, maybe a STOMP destination, and
    integrations on each."""

    platform: Platform
    receiver: ReceiverProcess
    queue_url: str
    webhook_ids: list[str]
    sqs_id: str
    stomp_id: str | None = None
    replicas: int = 1
    down: str | None = None
    deliveries: Deliveries = field(default_factory=Deliveries)
    # When the fault struck, if later than its call (a kill chooses its process first).
    injected_at: float | None = None

    @property
    def queue_ids(self) -> list[str]:
        """The queue integrations (delivered to the bench itself)."""
        return [self.sqs_id] + ([self.stomp_id] if self.stomp_id else [])

    @property
    def integration_ids(self) -> list[str]:
        """Every integration that observes the load's events."""
        return [*self.webhook_ids, *self.queue_ids]


async def create_integration(api: str, token: str, body: dict[str, Any]) -> str:
    """Create one integration through the public API."""
    async with httpx.AsyncClient(base_url=api, timeout=30) as client:
        response = await client.post(
            "/v2/integrations",
            headers={"Authorization": f"Bearer {token}"},
            json={"data": {"type": "integration", "observes": [EVENT_TYPE], **body}},
        )
        response.raise_for_status()
        integration_id: str = response.json()["data"]["id"]
        return integration_id


def local_sqs_client(endpoint: str) -> Any:
    """An SQS client for the test endpoint (ElasticMQ accepts any credentials)."""
    return get_session().create_client(
        "sqs",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="chaos",
        aws_secret_access_key="chaos",  # noqa: S106 - not a secret: ElasticMQ ignores it
    )


async def drain_queue(rig: Rig, sqs_endpoint: str, stop: asyncio.Event) -> None:
    """Receive and delete SQS messages, recording each CloudEvent's event id."""
    async with local_sqs_client(sqs_endpoint) as client:
        while not stop.is_set():
            async with asyncio.timeout(30):
                response = await client.receive_message(
                    QueueUrl=rig.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
                )
            messages = response.get("Messages", [])
            for message in messages:
                document = json.loads(message["Body"])
                rig.deliveries.record(document["id"], document["integrationid"], time.time())
            if messages:
                async with asyncio.timeout(30):
                    await client.delete_message_batch(
                        QueueUrl=rig.queue_url,
                        Entries=[
                            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                            for n, m in enumerate(messages)
                        ],
                    )


def fold_stomp(rig: Rig, collector: StompCollector | None) -> None:
    """Record the STOMP messages that arrived since the last fold."""
    if collector is None:
        return
    for body, arrived in collector.take():
        document = json.loads(body)
        rig.deliveries.record(document["id"], document["integrationid"], arrived)


Fault = Callable[[Rig], Awaitable[None]]


async def busiest(rig: Rig, service: str) -> str:
    """The process of `service` that delivered most so far (for a sender: the one holding the
    partitions of the integrations), so that killing it stalls deliveries; else the first."""
    transports = {"webhook-sender": ["webhook"], "queue-sender": ["sqs", "stomp"]}.get(service)
    if not transports or len(running_replicas(rig.platform, service)) < 2:
        return service
    totals: dict[str, int] = {}
    for transport in transports:
        for name, count in (await delivered_by_replica(rig.platform, service, transport)).items():
            totals[name] = totals.get(name, 0) + count
    return max(totals, key=lambda name: totals[name], default=service)


def kill_and_restart(service: str, pause_s: float = 2.0) -> Fault:
    """kill -9 a service, then (after `pause_s`) start it again, as a supervisor does."""

    async def fault(rig: Rig) -> None:
        name = await busiest(rig, service)
        rig.injected_at = time.time()
        rig.platform.kill(name)
        await asyncio.sleep(pause_s)
        await asyncio.to_thread(rig.platform.restart, name)
        say(f"  killed {name}; ready again {time.time() - rig.injected_at:.1f} s after the kill")

    return fault


def kill_stays_down(service: str) -> Fault:
    """kill -9 one process of a worker and leave it down: its peers take its partitions."""

    async def fault(rig: Rig) -> None:
        if len(running_replicas(rig.platform, service)) < 2:
            raise ValueError(f"'{service}' stays down needs --replicas 2 or more")
        name = await busiest(rig, service)
        rig.injected_at = time.time()
        rig.platform.kill(name)
        rig.down = name

    return fault


async def rolling_restart(rig: Rig) -> None:
    """SIGTERM every process of every worker in turn, starting each again once it stopped
    (and waiting until it is ready before the next): a rolling deploy."""
    for service in WORKERS:
        for name in running_replicas(rig.platform, service):
            await asyncio.to_thread(rig.platform.services[name].stop)
            await asyncio.to_thread(rig.platform.start, name)


def restart_server(server: str) -> Fault:
    """Stop and start one of the local servers (Kafka or the MongoDB-compatible store)."""

    async def fault(_: Rig) -> None:
        script = str(REPO / "infra" / "infra.sh")
        await asyncio.to_thread(subprocess.run, [script, "down", server], check=True)
        await asyncio.sleep(2)
        await asyncio.to_thread(subprocess.run, [script, "up", server], check=True)

    return fault


def receiver_fails_half(window_s: float) -> Fault:
    """The webhook receiver answers 503 to about half of its requests for a while."""

    async def fault(rig: Rig) -> None:
        await rig.receiver.control(fail_ratio=0.5)
        await asyncio.sleep(window_s)
        await rig.receiver.control(fail_ratio=0)

    return fault


def receiver_hangs(window_s: float) -> Fault:
    """The webhook receiver hangs for 11 s (past the sender's 10 s) on every request for a while."""

    async def fault(rig: Rig) -> None:
        await rig.receiver.control(hang_s=11)
        await asyncio.sleep(window_s)
        await rig.receiver.control(hang_s=0)

    return fault


async def no_fault(_: Rig) -> None:
    """Nothing: the baseline of a run's shape (its latency and recovery without a fault)."""


SCENARIOS: dict[str, Fault] = {
    "kill -9 router": kill_and_restart("router"),
    "kill -9 webhook-sender": kill_and_restart("webhook-sender"),
    "kill -9 queue-sender": kill_and_restart("queue-sender"),
    "kill -9 api": kill_and_restart("api"),
    "kill -9 log-writer": kill_and_restart("log-writer"),
    "restart Kafka broker": restart_server("kafka"),
    "restart MongoDB-compatible store": restart_server("mongodb"),
    "receiver fails half of its requests": receiver_fails_half(20),
    "receiver hangs past 10 s": receiver_hangs(20),
    **{f"kill -9 {s}, restarted at once": kill_and_restart(s, 0) for s in (*WORKERS, "api")},
    **{f"kill -9 {s}, stays down": kill_stays_down(s) for s in WORKERS},
    "rolling restart (SIGTERM)": rolling_restart,
    "no fault (baseline)": no_fault,
}
# What `make chaos` runs by default (the page's first table).
CLASSIC = list(SCENARIOS)[:9]
# The at-load run: no server restarts (the servers are shared; see docs/reliability.md).
AT_LOAD = [
    "no fault (baseline)",
    *(f"kill -9 {s}, stays down" for s in WORKERS),
    *(f"kill -9 {s}, restarted at once" for s in (*WORKERS, "api")),
    "rolling restart (SIGTERM)",
    "receiver fails half of its requests",
    "receiver hangs past 10 s",
]


def groups_of(platform: Platform, service: str) -> list[str]:
    """The consumer groups a worker's processes join (the harness names them per run)."""
    base = f"run-{platform.run.run_id}-{service}"
    if service == "queue-sender":
        return [f"{base}-sqs", f"{base}-stomp"]
    return [base]


async def settle_groups(platform: Platform, replicas: int, timeout: float) -> None:
    """Wait until every worker's groups are stable with one member per running process."""
    for service in WORKERS:
        members = len(running_replicas(platform, service))
        for group in groups_of(platform, service):
            await wait_group(platform.run.kafka_bootstrap_servers, group, members, timeout)


async def unready(platform: Platform, down: set[str]) -> list[str]:
    """The processes that should run (all but `down`) and are not ready."""
    failing = []
    async with httpx.AsyncClient(timeout=5) as client:
        for name, service in platform.services.items():
            if name in down:
                continue
            alive = service.process is not None and service.process.poll() is None
            ok = False
            if alive:
                with contextlib.suppress(httpx.HTTPError):
                    ok = (await client.get(f"{service.base_url}/readyz")).status_code == 200
            if not ok:
                failing.append(name)
    return failing


@dataclass(frozen=True)
class Shape:
    """How big a scenario's platform and load are."""

    rate: float
    before_s: float
    after_s: float
    drain_s: float
    webhooks: int = 2
    stomp: bool = False
    replicas: int = 1
    log_wait_s: float = 60.0


async def run_scenario(
    name: str,
    fault: Fault,
    *,
    run_config: RunConfig,
    out_dir: Path,
    rate: float,
    before_s: float,
    after_s: float,
    drain_s: float,
    webhooks: int = 2,
    stomp: bool = False,
    replicas: int = 1,
    log_wait_s: float = 60.0,
    replicated: tuple[str, ...] = WORKERS,
) -> ScenarioResult:
    """One scenario on a fresh platform; `replicas` processes of each worker in `replicated`."""
    shape = Shape(rate, before_s, after_s, drain_s, webhooks, stomp, replicas, log_wait_s)
    scenario_dir = out_dir / name.replace(" ", "_").replace(",", "")
    platform = Platform(run_config, scenario_dir)
    receiver = ReceiverProcess(scenario_dir)
    await asyncio.to_thread(receiver.start)
    kafka = KafkaSettings(bootstrap_servers=run_config.kafka_bootstrap_servers)
    producer = create_producer(kafka)
    records = AttemptRecords(kafka, run_config.topics.logs, run_config.topics.partitions)
    store = mongo_client(run_config.mongodb_uri)
    collector: StompCollector | None = None
    arrivals: list[tuple[str, float]] = []
    rig: Rig | None = None
    try:
        await asyncio.to_thread(platform.start)
        for service in replicated:
            await asyncio.to_thread(scale, platform, service, replicas)
        await settle_groups(platform, replicas, 120)
        await producer.start()
        await records.start()
        if stomp:
            destination = f"/queue/chaos-{run_config.run_id}"
            collector = await asyncio.to_thread(StompCollector, stomp_url(), destination)
        rig = await build_rig(platform, receiver, run_config, shape)
        outcome = await drive(
            rig, fault=fault, producer=producer, collector=collector, shape=shape, name=name
        )
        incomplete = await completeness(
            rig, outcome=outcome, records=records, store=store, shape=shape, name=name
        )
    finally:
        if collector is not None:
            collector.close()
        await producer.stop()
        with contextlib.suppress(Exception):
            await records.stop()
        await store.close()
        await asyncio.to_thread(platform.stop)
        await delete_run_topics(platform)
        arrivals = await asyncio.to_thread(receiver.stop)
    if rig is None:
        raise RuntimeError(f"{name}: the scenario did not start")
    job_index = {job_id_for(e, i): i for e in outcome.sent for i in rig.webhook_ids}
    for job_id, arrived in arrivals:
        if job_id in job_index:
            rig.deliveries.record(job_id, job_index[job_id], arrived)
    event_of = {job_id_for(e, i): e for e in outcome.sent for i in rig.integration_ids}
    expected = {(e, i) for e in outcome.sent for i in rig.integration_ids}
    if outcome.events_per_s < 0.95 * rate:
        incomplete.append(f"the load reached {outcome.events_per_s:g} of {rate:g} events/s")
    result = score(
        name,
        rig,
        event_of=event_of,
        expected=expected,
        sent=outcome.sent,
        fault=(outcome.fault_at, outcome.fault_over),
        incomplete=tuple(incomplete),
    )
    return dataclasses.replace(result, events_per_s=outcome.events_per_s)


async def completeness(
    rig: Rig,
    *,
    outcome: Outcome,
    records: AttemptRecords,
    store: Any,
    shape: Shape,
    name: str,
) -> list[str]:
    """What did not complete its work: undrained deliveries, unstored attempt logs, processes
    not ready or consumer groups not stable at the end."""
    platform = rig.platform
    jobs = {job_id_for(e, i) for e in outcome.sent for i in rig.integration_ids}
    logs = await check_logs(
        records, store, platform.run.database, jobs, wait=shape.log_wait_s, label=name
    )
    incomplete = list(outcome.incomplete)
    if logs["logs_stored"] < logs["attempts_made"] or logs["attempts_made"] < len(jobs):
        incomplete.append(
            f"logs stored {logs['logs_stored']} of {logs['attempts_made']} attempts "
            f"for {len(jobs)} jobs"
        )
    down = {outcome.down} if outcome.down else set()
    failing = await unready(platform, down)
    if failing:
        incomplete.append(f"not ready at the end: {failing}")
    try:
        await settle_groups(platform, shape.replicas, 30)
    except RuntimeError as exc:
        incomplete.append(str(exc))
    return incomplete


def stomp_url() -> str:
    """The STOMP broker of the run (`STOMP_URL`, or ActiveMQ's local default)."""
    return os.environ.get("STOMP_URL", "stomp://integrations:integrations@127.0.0.1:61613")


async def build_rig(
    platform: Platform, receiver: ReceiverProcess, run_config: RunConfig, shape: Shape
) -> Rig:
    """The integrations: webhooks on the receiver, one SQS queue, maybe one STOMP queue."""
    token = mint_token(run_config, store_id=STORE_ID, org_id=ORG_ID)
    api = platform.api_url
    partitions = run_config.topics.partitions
    if shape.webhooks % partitions == 0:
        webhook_ids = await balanced_webhooks(
            api,
            token,
            [receiver.url],
            per_partition=shape.webhooks // partitions,
            partitions=partitions,
            name="chaos webhook",
        )
    else:
        webhook_ids = [
            await create_integration(
                api,
                token,
                {
                    "name": f"chaos webhook {n}",
                    "integration_type": "webhook",
                    "configuration": {"url": receiver.url, "secret_key": f"chaos-{n}"},
                },
            )
            for n in range(shape.webhooks)
        ]
    queue_url = await create_queue(run_config.sqs_endpoint_url, f"chaos-{run_config.run_id}")
    sqs_id = await create_integration(
        api,
        token,
        {
            "name": "chaos sqs",
            "integration_type": "aws_sqs",
            "configuration": {
                "url": queue_url,
                "aws_access_key_id": "chaos-access-key",
                "aws_secret_access_key": "chaos-secret-key",
                "region": "us-east-1",
            },
        },
    )
    stomp_id = None
    if shape.stomp:
        parts = urlsplit(stomp_url())
        stomp_id = await create_integration(
            api,
            token,
            {
                "name": "chaos stomp",
                "integration_type": "stomp",
                "configuration": {
                    "addresses": [f"stomp://{parts.hostname}:{parts.port}"],
                    "destination": f"/queue/chaos-{run_config.run_id}",
                    "username": parts.username,
                    "password": parts.password,
                },
            },
        )
    return Rig(platform, receiver, queue_url, webhook_ids, sqs_id, stomp_id, shape.replicas)


@dataclass(frozen=True)
class Outcome:
    """What happened while a scenario ran."""

    sent: dict[str, float]
    fault_at: float
    fault_over: float
    down: str | None
    incomplete: tuple[str, ...]
    events_per_s: float = 0.0


async def drive(
    rig: Rig,
    *,
    fault: Fault,
    producer: AIOKafkaProducer,
    collector: StompCollector | None,
    shape: Shape,
    name: str,
) -> Outcome:
    """Load, fault, more load, then wait for the backlog to drain."""
    stop_drain = asyncio.Event()
    config = rig.platform.run
    drainer = asyncio.create_task(drain_queue(rig, config.sqs_endpoint_url, stop_drain))
    await asyncio.sleep(2)
    load = SteadyLoad(producer, config.topics.events, shape.rate)
    loader = asyncio.create_task(load.run())
    await asyncio.sleep(shape.before_s)
    say(f"  {name}: injecting the fault after {len(load.sent)} events")
    fault_at = time.time()
    await fault(rig)
    fault_over = time.time()
    fault_at = rig.injected_at or fault_at  # not the time spent choosing the process to kill
    await asyncio.sleep(shape.after_s)
    load.stop()
    await loader
    expected_queue = {(e, i) for e in load.sent for i in rig.queue_ids}
    expected_webhooks = len(load.sent) * len(rig.webhook_ids)
    event_of = {job_id_for(e, i): e for e in load.sent for i in rig.queue_ids}
    deadline = time.monotonic() + shape.drain_s
    incomplete: list[str] = []
    while True:
        fold_stomp(rig, collector)
        queued = expected_queue & rig.deliveries.by_event(event_of)[0].keys()
        webhooks = await rig.receiver.distinct()
        say(
            f"  {name}: webhooks {webhooks}/{expected_webhooks}, "
            f"queues {len(queued)}/{len(expected_queue)} delivered"
        )
        if webhooks >= expected_webhooks and len(queued) == len(expected_queue):
            break
        if time.monotonic() >= deadline:
            incomplete.append(f"not drained in {shape.drain_s:g} s")
            break
        await asyncio.sleep(2)
    await asyncio.sleep(1)  # late duplicates of the queues
    fold_stomp(rig, collector)
    stop_drain.set()
    await drainer
    achieved = len(load.sent) / max(load.emitting_s, 1e-6)
    return Outcome(
        dict(load.sent), fault_at, fault_over, rig.down, tuple(incomplete), round(achieved, 1)
    )


def longest_stall(
    first_arrival: dict[tuple[str, str], float], integrations: list[str], since: float
) -> float:
    """The longest gap between consecutive first deliveries of one integration's events, from
    the last delivery before `since` on, over every integration."""
    longest = 0.0
    for integration in integrations:
        times = sorted(t for (_, i), t in first_arrival.items() if i == integration)
        before = [t for t in times if t < since]
        after = [t for t in times if t >= since]
        chain = before[-1:] + after
        gaps = [b - a for a, b in itertools.pairwise(chain)]
        longest = max([longest, *gaps])
    return longest


def score(
    name: str,
    rig: Rig,
    *,
    event_of: dict[str, str],
    expected: set[tuple[str, str]],
    sent: dict[str, float],
    fault: tuple[float, float],
    incomplete: tuple[str, ...] = (),
) -> ScenarioResult:
    """Lost, duplicated and recovery figures from what the destinations received."""
    fault_at, fault_over = fault
    counts, first_arrival = rig.deliveries.by_event(event_of)
    delivered = {k: v for k, v in counts.items() if k in expected}
    duplicates = sum(v - 1 for v in delivered.values())
    missing_count = len(expected - delivered.keys())
    backlog_keys = [k for k in delivered if sent[k[0]] <= fault_over]
    backlog = [first_arrival[k] for k in backlog_keys]
    last = max(backlog_keys, key=first_arrival.__getitem__, default=None)
    if last is not None:
        kind = (
            "webhook" if last[1] in rig.webhook_ids else "sqs" if last[1] == rig.sqs_id else "stomp"
        )
        say(
            f"  last delivery of an event sent before the fault ended: {kind} integration "
            f"{last[1]}, {first_arrival[last] - sent[last[0]]:.1f} s after it was sent, "
            f"{first_arrival[last] - fault_at:.1f} s after the fault"
        )
    firsts = {k: t for k, t in first_arrival.items() if k in expected}
    before = sorted(1000 * (t - sent[k[0]]) for k, t in firsts.items() if sent[k[0]] < fault_at)
    return ScenarioResult(
        scenario=name,
        events=len(sent),
        expected_deliveries=len(expected),
        delivered=len(delivered),
        lost=missing_count,
        duplicates=duplicates,
        duplicate_percent=round(100 * duplicates / max(len(delivered), 1), 2),
        recover_s=None if missing_count else round(max(backlog, default=fault_at) - fault_at, 1),
        longest_stall_s=round(longest_stall(firsts, rig.integration_ids, fault_at), 1),
        fault_s=round(fault_over - fault_at, 1),
        incomplete=incomplete,
        p99_before_ms=round(before[int(0.99 * (len(before) - 1))] if before else 0.0, 1),
        worst_after_ms=round(
            max(
                (1000 * (t - sent[k[0]]) for k, t in firsts.items() if sent[k[0]] >= fault_at),
                default=0.0,
            ),
            1,
        ),
    )


async def create_queue(endpoint: str, name: str) -> str:
    """A fresh SQS queue on the test endpoint."""
    async with local_sqs_client(endpoint) as client:
        url: str = (await client.create_queue(QueueName=name))["QueueUrl"]
        return url


def chaos_run_config(extra_env: dict[str, str] | None = None, partitions: int = 6) -> RunConfig:
    """Endpoints from the environment (or the local servers), fast retry tiers, topics of
    `partitions` partitions (the chart's default), and any `extra_env` for the services."""
    return wide_run_config(
        partitions,
        {
            "WEBHOOK_SENDER_DELIVERY__RETRY_SCHEDULE": FAST_RETRIES,
            "QUEUE_SENDER_DELIVERY__RETRY_SCHEDULE": FAST_RETRIES,
            **(extra_env or {}),
        },
    )


def reliability_markdown(results: list[ScenarioResult], command: str, stamp: str) -> str:
    """The docs/reliability.md text."""
    rows = [
        "| scenario | events | expected deliveries | lost | duplicates | time to recover |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        recover = f"{r.recover_s:.1f} s" if r.recover_s is not None else "did not drain"
        rows.append(
            f"| {r.scenario} | {r.events} | {r.expected_deliveries} | {r.lost} | "
            f"{r.duplicates} ({r.duplicate_percent:g} %) | {recover} |"
        )
    return "\n".join(
        [
            "# Reliability under faults",
            "",
            "Each scenario runs a fresh, isolated platform (all five services as processes) with",
            "two webhook integrations on a local receiver and one SQS integration on ElasticMQ,",
            "under a steady load of `order.paid` events. The fault is injected mid-run; the load",
            "stops after a while and the run waits for the backlog to drain. Retry tiers are",
            f"shortened to `{FAST_RETRIES}` so that a run takes minutes, not hours.",
            "",
            "- *lost*: (event, integration) pairs never delivered (must be 0);",
            "- *duplicates*: deliveries beyond the first of a pair (at-least-once allows them);",
            "- *time to recover*: from the moment the fault is injected until every delivery of",
            "  every event emitted before the fault was over (the service back and healthy, the",
            "  server restarted, the receiver healthy again) had arrived: the backlog drained.",
            "",
            f"Reproduce: `{command}` (run at {stamp}, on the machine described in",
            "[benchmarks.md](benchmarks.md)).",
            "",
            *rows,
            "",
            "Reading it: each killed process is started again 2 s later under the same name, so a",
            "consumer (router, senders, log writer), a static group member, takes its own",
            "partitions back without a rebalance: its rows are the 2 s pause, the process's",
            "start (imports and settings: about 0.6 s of CPU, and several seconds when this",
            "2-core machine is busy), and the catch-up. A consumer that stays down is replaced",
            "after the session timeout (`KAFKA__SESSION_TIMEOUT_MS`, 6 s). The API is not on the",
            "delivery path. A broker restart pauses every producer and consumer until it is back",
            "and leaders are elected. With failing or hanging receivers, recovery is the retry",
            "schedule at work, and the hanging receiver's duplicates are requests it did process",
            "but answered after the sender's 10 s limit: the case at-least-once delivery allows.",
            "",
        ]
    )


LOAD_INTRO = [
    f"## {LOAD_HEADING}",
    "",
    "The same faults at 1,000 webhook deliveries/s and more (issue 15): `order.paid` events at",
    "the rate in the row (85/s: 1,020 webhook deliveries/s) to 12 webhook integrations on one",
    "receiver process (spread 2 per partition), plus one SQS (ElasticMQ) and one STOMP (ActiveMQ)",
    "integration, with two processes of every worker (router, webhook-sender, queue-sender,",
    "log-writer; one consumer group each) on topics of 6 partitions. Rows at 30 events/s are the",
    "same runs at a load this machine takes without queueing, for the recovery goals.",
    "A killed sender is the one that had delivered most (the one holding the integrations'",
    "partitions).",
    "*stays down*: one of the two processes is killed and not restarted, its peer takes its",
    "partitions over; *restarted at once*: it is started again right away, as Kubernetes",
    "restarts a crashed container; *rolling restart*: every process of every worker in turn gets",
    "SIGTERM and",
    "is started again once it has stopped, the next one once it is ready.",
    "*longest stall*: the longest gap between two consecutive deliveries of one integration's",
    "events from the fault on (what the partitions of the killed process waited), over every",
    "integration. *latency p99 before the fault*: event time to first delivery, for the events",
    "sent before the fault (how loaded the pipeline already was); *worst latency after the fault*:",
    "the longest an event sent after the fault waited for a delivery (it shows what *time to",
    "recover* and *longest stall* miss when a killed router stays down: the events on its",
    "partitions wait for the takeover while the other partitions keep every integration busy).",
    "*no fault (baseline)*: the same",
    "run without a fault (its time to recover is the pipeline's own latency). *fault took*: from",
    "the kill or first SIGTERM until the process(es) were back and ready (0 when it stays down).",
    "A row counts only when every delivery arrived, every",
    "attempt log was stored, and at the end every process that should run was ready with its",
    "consumer groups stable (`bench.chaos` exits 1 with NOT A RESULT otherwise, and writes no",
    "row).",
    "The local Kafka and store are shared with other work on this machine, so their restarts",
    "(`make chaos`'s broker and store rows) are not run at load.",
    "A `-` is a figure the bench did not measure yet when that row was run.",
    "",
    "| scenario | offered | processes per worker | events | expected deliveries | lost "
    "| duplicates | time to recover | longest stall | fault took | latency p99 before the fault "
    "| worst latency after the fault | command (run at) |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
]


def load_row(result: ScenarioResult, args: argparse.Namespace, command: str, stamp: str) -> str:
    """One row of the "At load" table."""
    recover = f"{result.recover_s:.1f} s" if result.recover_s is not None else "did not drain"
    integrations = args.webhooks + 1 + int(args.stomp)
    return (
        f"| {result.scenario} | {args.rate:g} events/s (sent {result.events_per_s:g}/s) x "
        f"{integrations} integrations ({args.rate * args.webhooks:g} webhook deliveries/s) | "
        f"{args.replicas} | "
        f"{result.events} | {result.expected_deliveries} | {result.lost} | "
        f"{result.duplicates} ({result.duplicate_percent:g} %) | {recover} | "
        f"{result.longest_stall_s:g} s | {result.fault_s:g} s | {result.p99_before_ms:g} ms | "
        f"{result.worst_after_ms:g} ms | "
        f"`{command}` ({stamp}) |"
    )


def row_key(row: str) -> tuple[str, str]:
    """A row of the "At load" table is one scenario at one offered load."""
    cells = row.split("|")[1:-1]
    return cells[0].strip(), cells[1].strip().split(" events/s")[0]


def load_section(page: str, rows: list[str]) -> str:
    """The "At load" section: its existing rows, with `rows` replacing those of the same
    scenario and offered load, or added."""
    merged: dict[tuple[str, str], str] = {}
    marker = f"## {LOAD_HEADING}\n"
    if marker in page:
        section = page[page.index(marker) :]
        end = section.find("\n## ", len(marker))
        section = section if end < 0 else section[:end]
        columns = LOAD_INTRO[-2].count("|") - 1
        for line in section.splitlines():
            cells = line.split("|")[1:-1]
            if not line.startswith("| ") or cells[0].strip() == "scenario":
                continue
            if len(cells) < columns:  # a row from before a column was added
                cells[-1:-1] = [" - "] * (columns - len(cells))
            row = "|" + "|".join(cells) + "|"
            merged[row_key(row)] = row
    merged.update({row_key(row): row for row in rows})
    order = {name: n for n, name in enumerate(AT_LOAD)}

    def position(key: tuple[str, str]) -> tuple[float, int]:
        rate = float(key[1]) if key[1].replace(".", "", 1).isdigit() else 0.0
        return -rate, order.get(key[0], len(order))

    ordered = sorted(merged, key=position)
    return replace_section(
        page, LOAD_HEADING, "\n".join([*LOAD_INTRO, *(merged[k] for k in ordered), ""])
    )


def command_line(args: argparse.Namespace, scenario: str | None = None) -> str:
    """The command that reproduces this run (or, with `scenario`, that scenario alone)."""
    argv = sys.argv[1:]
    if scenario is not None:
        kept, skip = [], False
        for arg in argv:
            if skip:
                skip = False
            elif arg == "--scenarios":
                skip = True
            elif not arg.startswith("--scenarios=") and arg != "--doc-load":
                kept.append(arg)
        return f"""make chaos CHAOS_ARGS='{shlex.join(kept)} --scenarios "{scenario}"'"""
    if not argv:
        return "make chaos"
    return f"make chaos CHAOS_ARGS={shlex.quote(shlex.join(argv))}"


async def main_async(args: argparse.Namespace) -> list[ScenarioResult]:
    """Run the chosen scenarios in turn."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = REPO / "results" / f"chaos-{stamp}"
    if args.scenarios == "at-load":
        chosen = AT_LOAD
    elif args.scenarios:
        chosen = [s.strip() for s in args.scenarios.split(";")]
    else:
        chosen = CLASSIC
    extra_env = dict(item.split("=", 1) for item in args.env)
    results = []
    for name in chosen:
        say(f"scenario: {name}")
        result = await run_scenario(
            name,
            SCENARIOS[name],
            run_config=chaos_run_config(extra_env),
            out_dir=out_dir,
            rate=args.rate,
            before_s=args.before,
            after_s=args.after,
            drain_s=args.drain,
            webhooks=args.webhooks,
            stomp=args.stomp,
            replicas=args.replicas,
            log_wait_s=args.log_wait,
        )
        say(f"  -> {json.dumps(asdict(result))}")
        results.append(result)
    out_dir.mkdir(parents=True, exist_ok=True)
    command = command_line(args)
    (out_dir / "result.json").write_text(
        json.dumps({"command": command, "results": [asdict(r) for r in results]}, indent=2)
    )
    page_path = REPO / "docs" / "reliability.md"
    page = page_path.read_text() if page_path.exists() else ""
    complete = [r for r in results if not r.lost and not r.incomplete]
    if args.doc_load:
        rows = [load_row(r, args, command_line(args, r.scenario), stamp) for r in complete]
        page_path.write_text(load_section(page, rows))
    elif not args.scenarios and len(complete) == len(results):
        classic = reliability_markdown(results, command, stamp)
        rest = (
            page[page.index(f"\n## {LOAD_HEADING}\n") :] if f"\n## {LOAD_HEADING}\n" in page else ""
        )
        page_path.write_text(classic.rstrip("\n") + "\n" + rest)
    return results


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=20, help="events/s of steady load")
    parser.add_argument("--before", type=float, default=5, help="seconds of load before the fault")
    parser.add_argument("--after", type=float, default=15, help="seconds of load after the fault")
    parser.add_argument("--drain", type=float, default=180, help="max seconds to drain")
    parser.add_argument(
        "--scenarios", default="", help="';'-separated names, or at-load (default: make chaos's)"
    )
    parser.add_argument("--webhooks", type=int, default=2, help="webhook integrations")
    parser.add_argument("--stomp", action="store_true", help="add a STOMP integration")
    parser.add_argument("--replicas", type=int, default=1, help="processes of every worker")
    parser.add_argument("--log-wait", type=float, default=60, help="max seconds for the logs")
    parser.add_argument(
        "--env", action="append", default=[], help="KEY=VALUE for the services (repeatable)"
    )
    parser.add_argument(
        "--doc-load", action="store_true", help="write these rows into the At load section"
    )
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    failed = [r for r in results if r.lost or r.incomplete]
    for r in failed:
        say(f"NOT A RESULT: {r.scenario}: lost {r.lost}; {'; '.join(r.incomplete)}")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
