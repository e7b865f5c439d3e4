"""`make bench-webhook`: the sender's delivery rate against the machine's and Python's HTTP limits.

One receiver for every measurement: nginx (Debian) with one worker answering `return 204` on
127.0.0.1. In the same run this measures
1. `wrk -t1 -c64` against it (the machine's HTTP limit);
2. plain asyncio loops of N POSTs (2 KB JSON, C concurrent) with aiohttp, httpx over the
   httpx-aiohttp transport, and httpx's default transport (the transport choice);
3. the sender itself (Kafka in, one worker in this process, attempt logs out) delivering a backlog
   of N jobs, then a paced load whose event-time to 2xx latency is the latency the pipeline adds.
Runs are short (seconds). Environment: BENCH_N, BENCH_C, BENCH_PACED_RATE, BENCH_PACED_SECONDS,
KAFKA_BOOTSTRAP_SERVERS; BENCH_PROFILE=<file> writes a cProfile of the sender's backlog phase;
BENCH_PYSPY=<file> records py-spy's samples (collapsed stacks, `--format raw`; py-spy must be
installed) of the same phase, without pausing the process (BENCH_PYSPY_PACED: of the paced
phase); BENCH_SENDER_ONLY=1 skips the two httpx loops (for A/B runs of the sender: wrk and raw
aiohttp, the ratio's baseline, are still measured).

Besides the rate, the sender's CPU per delivered job in the backlog phase is printed (this
process's CPU time, the sender's and the benchmark's polling, divided by the jobs delivered): far
less sensitive than the rate to other load on a shared machine. The same for the paced phase
(a load below the sender's limit, as in the end-to-end benchmark, where costs per poll and per
commit weigh more per job); it includes the benchmark's producer, not the making of the jobs.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import logging
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from httpx_aiohttp import AiohttpTransport
from prometheus_client import REGISTRY
from pydantic import SecretStr

from integrations_common.attempts import AttemptLog
from integrations_common.delivery import delivery_topic_specs
from integrations_common.events import CommerceEvent
from integrations_common.jobs import DeliveryJob
from integrations_common.kafka import create_producer, ensure_topics
from integrations_common.secret_box import EncryptionSettings, SecretBox, generate_key
from integrations_common.settings import KafkaSettings, TopicSettings
from integrations_common.transports import Transport
from integrations_testkit.factories import make_webhook_job
from integrations_testkit.kafka_tools import delete_topics
from integrations_webhook_sender.app import build_worker
from integrations_webhook_sender.settings import WebhookSenderSettings

BODY = json.dumps({"data": {"type": "order", "id": "o-1", "note": "x" * 1950}}).encode()
NGINX_CONF = """
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
daemon off;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 60s;
  server {{ listen 127.0.0.1:{port}; location / {{ return 204; }} }}
}}
"""
WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[{body}]]
"""


def _out(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _nginx_files(port: int) -> tuple[Path, Path]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
    workdir.chmod(0o755)  # nginx workers run as nobody
    conf = workdir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=workdir, port=port))
    return workdir, conf


async def _until(predicate: Callable[[], bool], interval: float) -> None:
    """Poll `predicate` (a metric read in this process) until it holds."""
    for _ in iter(int, 1):
        if predicate():
            return
        await asyncio.sleep(interval)


@asynccontextmanager
async def nginx() -> AsyncIterator[str]:
    """nginx answering 204 on a free port of 127.0.0.1; yields its URL."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    port = _free_port()
    workdir, conf = _nginx_files(port)
    process = await asyncio.create_subprocess_exec(binary, "-c", str(conf), "-p", str(workdir))
    try:
        for _ in range(100):
            with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.1):
                break
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        process.terminate()
        await process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def wrk(url: str, connections: int, seconds: int) -> float:
    """wrk's requests per second for 2 KB POSTs."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT.format(body=BODY.decode()))
    try:
        result = subprocess.run(
            [
                shutil.which("wrk") or "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{seconds}s",
                "-s",
                script.name,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        Path(script.name).unlink()
    match = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    return float(match.group(1)) if match else 0.0


Post = Callable[[], Awaitable[None]]


async def _loop(post: Post, *, n: int, c: int) -> float:
    semaphore = asyncio.Semaphore(c)

    async def one() -> None:
        async with semaphore:
            await post()

    await asyncio.gather(*(one() for _ in range(min(500, n))))  # warm-up
    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one() for _ in range(n)))
    _LOOP_CPU_US.append((time.process_time() - cpu_started) * 1e6 / n)
    return n / (time.perf_counter() - started)


_LOOP_CPU_US: list[float] = []  # each loop's CPU microseconds per request, in order


async def raw_aiohttp(url: str, *, n: int, c: int) -> float:
    """Posts per second with a plain aiohttp session."""
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=c)) as session:

        async def post() -> None:
            async with session.post(url, data=BODY, headers=headers) as response:
                await response.read()

        return await _loop(post, n=n, c=c)


async def raw_httpx(url: str, *, n: int, c: int, aiohttp_transport: bool) -> float:
    """Posts per second with httpx, over its default or the httpx-aiohttp transport."""
    limits = httpx.Limits(max_connections=c, max_keepalive_connections=c)
    transport: httpx.AsyncBaseTransport = (
        AiohttpTransport(limits=limits)
        if aiohttp_transport
        else httpx.AsyncHTTPTransport(limits=limits)
    )
    headers = {"Content-Type": "application/json"}
    async with httpx.AsyncClient(transport=transport) as client:

        async def post() -> None:
            response = await client.post(url, content=BODY, headers=headers)
            await response.aread()

        return await _loop(post, n=n, c=c)


_COMMITS = [0]  # offset commits made in this process (the sender's; the benchmark makes none)


def _count_commits() -> None:
    original = AIOKafkaConsumer.commit

    async def commit(self: AIOKafkaConsumer, *args: Any, **kwargs: Any) -> None:
        _COMMITS[0] += 1
        await original(self, *args, **kwargs)

    AIOKafkaConsumer.commit = commit


def _set_aside() -> float:
    """Jobs the sender set aside to its slow lane so far (read twice: a cost per job)."""
    return (
        REGISTRY.get_sample_value("integrations_delivery_set_aside_total", {"transport": "webhook"})
        or 0.0
    )


def _succeeded() -> float:
    value = REGISTRY.get_sample_value(
        "integrations_delivery_attempts_total",
        {"transport": "webhook", "outcome": "succeeded", "status_class": "2xx"},
    )
    return value or 0.0


@dataclass(frozen=True)
class SenderResult:
    """What the sender achieved."""

    rate: float
    cpu_us_per_job: float
    paced_cpu_us_per_job: float
    commits: tuple[int, int]  # offset commits in the backlog and in the paced phase
    set_aside: int  # jobs of the backlog set aside to the slow lane (read again later)
    attempt_p50_ms: float
    attempt_p99_ms: float
    latency_p50_ms: float
    latency_p99_ms: float
    paced: int
    failed: int


def _integrations(url: str, box: SecretBox, count: int = 64) -> list[DeliveryJob]:
    """One first job per integration; their snapshots (and encrypted secrets) are reused."""
    return [
        make_webhook_job(
            url,
            secret="bench-secret",  # noqa: S106 - a benchmark value
            box=box,
            integration_id=f"bench-int-{i}",
        )
        for i in range(count)
    ]


def _job(templates: list[DeliveryJob], index: int, *, prefix: str) -> DeliveryJob:
    event = CommerceEvent(
        id=f"{prefix}-{index}",
        source="https://bench",
        type="order.paid",
        time=datetime.now(UTC),
        orgid="org-bench",
        storeid="store-bench",
        data={"data": {"type": "order", "id": f"o-{index}", "note": "x" * 1900}},
    )
    return DeliveryJob.route(event, templates[index % len(templates)].integration)


async def sender(
    url: str,
    *,
    kafka: KafkaSettings,
    n: int,
    paced_rate: int,
    paced_s: int,
    delivery: dict[str, Any] | None = None,
) -> SenderResult:
    """Deliver a backlog of `n` jobs, then a paced load; rates and latencies from the logs."""
    prefix = f"bench-webhook-{uuid.uuid4().hex[:8]}"
    delivery = delivery or {}
    key = generate_key()
    templates = _integrations(url, SecretBox(EncryptionSettings(keys=SecretStr(key))))
    topics = TopicSettings(deliveries_prefix=prefix, logs=f"{prefix}-logs", partitions=6)
    settings = WebhookSenderSettings.model_validate(
        {
            "kafka": kafka.model_dump(),
            "topics": topics.model_dump(),
            "delivery": {"consumer_group": prefix, "retry_schedule": "5s", **delivery},
            "ssrf": {"allow_cidrs": "127.0.0.0/8"},
            "encryption": {"keys": key},
        }
    )
    deliveries = topics.deliveries(Transport.WEBHOOK)
    await ensure_topics(
        kafka,
        delivery_topic_specs(
            topics=topics, transport=Transport.WEBHOOK, schedule=settings.delivery.schedule
        ),
    )
    producer = create_producer(kafka, linger_ms=20)
    await producer.start()
    try:
        futures = [
            await producer.send(deliveries, j.model_dump_json().encode(), key=j.kafka_key)
            for j in (_job(templates, i, prefix="backlog") for i in range(n))
        ]
        await asyncio.gather(*futures)
        worker = build_worker(settings)
        stop = asyncio.Event()
        base = _succeeded()
        running = asyncio.create_task(worker.run(stop))
        commits_before, aside_before = _COMMITS[0], _set_aside()
        rate, cpu_us_per_job = await _backlog(base, n)
        commits_backlog = _COMMITS[0] - commits_before
        aside = int(_set_aside() - aside_before)
        commits_before = _COMMITS[0]
        sampler = _py_spy(os.environ.get("BENCH_PYSPY_PACED"))
        cpu_paced = time.process_time()
        paced, cpu_making = await _paced(producer, deliveries, templates, paced_rate, paced_s)
        total = n + paced
        await _until(lambda: _succeeded() - base >= total, 0.05)
        paced_cpu_us_per_job = (time.process_time() - cpu_paced - cpu_making) * 1e6 / paced
        await _stop(sampler)
        commits = (commits_backlog, _COMMITS[0] - commits_before)
        stop.set()
        await running
    finally:
        await producer.stop()
    logs = await _read_logs(kafka, topics.logs, n + paced)
    await delete_topics(kafka.bootstrap_servers, prefix)
    attempts = sorted((log.finished_at - log.started_at).total_seconds() * 1000 for log in logs)
    latencies = sorted(
        log.latency_ms for log in logs if log.event_id.startswith("paced") and log.succeeded
    )
    return SenderResult(
        rate=rate,
        cpu_us_per_job=cpu_us_per_job,
        paced_cpu_us_per_job=paced_cpu_us_per_job,
        commits=commits,
        set_aside=aside,
        attempt_p50_ms=_pct(attempts, 50),
        attempt_p99_ms=_pct(attempts, 99),
        latency_p50_ms=_pct(latencies, 50),
        latency_p99_ms=_pct(latencies, 99),
        paced=paced,
        failed=sum(1 for log in logs if not log.succeeded),
    )


async def _backlog(base: float, n: int) -> tuple[float, float]:
    """The backlog's delivery rate and this process's CPU microseconds per delivered job."""
    sampler = _py_spy(os.environ.get("BENCH_PYSPY"))
    if sampler is not None:
        await asyncio.sleep(0.5)  # py-spy attaches (the worker is joining its group meanwhile)
    await _until(lambda: _succeeded() - base >= 1, 0.005)
    profile = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None
    if profile is not None:
        profile.enable()
    started, first = time.perf_counter(), _succeeded() - base
    cpu_started = time.process_time()
    await _until(lambda: _succeeded() - base >= n, 0.01)
    rate = (n - first) / (time.perf_counter() - started)
    cpu_us_per_job = (time.process_time() - cpu_started) * 1e6 / (n - first)
    if profile is not None:
        profile.disable()
        profile.dump_stats(os.environ["BENCH_PROFILE"])
    await _stop(sampler)
    return rate, cpu_us_per_job


async def _paced(
    producer: AIOKafkaProducer,
    topic: str,
    templates: list[DeliveryJob],
    rate: int,
    seconds: int,
) -> tuple[int, float]:
    """Send jobs at `rate` for `seconds`: how many, and the CPU seconds spent making them."""
    paced, cpu_making = 0, 0.0
    tick = 0.01
    per_tick = max(1, int(rate * tick))
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        for _ in range(per_tick):
            making = time.process_time()
            j = _job(templates, paced, prefix="paced")
            value = j.model_dump_json().encode()
            cpu_making += time.process_time() - making
            await producer.send(topic, value, key=j.kafka_key)
            paced += 1
        await asyncio.sleep(tick)
    await producer.flush()
    return paced, cpu_making


async def _stop(sampler: subprocess.Popen[bytes] | None) -> None:
    if sampler is not None:
        sampler.send_signal(signal.SIGINT)
        await asyncio.to_thread(sampler.wait)


def _py_spy(output: str | None) -> subprocess.Popen[bytes] | None:
    """py-spy sampling this process into `output` (collapsed stacks) until sent SIGINT."""
    if not output:
        return None
    binary = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    command = [binary, "record", "--pid", str(os.getpid()), "--rate", "200", "--nonblocking"]
    return subprocess.Popen([*command, "--format", "raw", "--output", output])


def _pct(values: list[float], pct: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


async def _read_logs(kafka: KafkaSettings, topic: str, count: int) -> list[AttemptLog]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka.bootstrap_servers, auto_offset_reset="earliest"
    )
    await consumer.start()
    logs: list[AttemptLog] = []
    try:
        async with asyncio.timeout(120):
            while len(logs) < count:
                batch = await consumer.getmany(timeout_ms=500, max_records=5000)
                for records in batch.values():
                    logs.extend(AttemptLog.model_validate_json(r.value or b"") for r in records)
    finally:
        await consumer.stop()
    return logs


class _WarningCount(logging.Handler):
    """Counts the warnings the sender logs (a produce retry means a part was stuck)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def main() -> None:
    """Run every measurement against one nginx and print the table.

    Exits 1 when the sender logged a warning (a produce retry, an abandoned batch): its figure
    would not be the sender's own.
    """
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    _count_commits()
    warnings = _WarningCount()
    logging.getLogger("integrations_common").addHandler(warnings)
    n = int(os.environ.get("BENCH_N", "10000"))
    c = int(os.environ.get("BENCH_C", "64"))
    paced_rate = int(os.environ.get("BENCH_PACED_RATE", "500"))
    paced_s = int(os.environ.get("BENCH_PACED_SECONDS", "4"))
    kafka = KafkaSettings(
        bootstrap_servers=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    )
    async with nginx() as url:
        limit = wrk(url, c, 4)
        aio = await raw_aiohttp(url, n=n, c=c)
        aio_cpu_us = _LOOP_CPU_US[-1]
        sender_only = os.environ.get("BENCH_SENDER_ONLY") == "1"
        hx_aio = 0.0 if sender_only else await raw_httpx(url, n=n, c=c, aiohttp_transport=True)
        hx = (
            0.0
            if sender_only
            else await raw_httpx(url, n=max(1000, n // 5), c=c, aiohttp_transport=False)
        )
        result = await sender(url, kafka=kafka, n=n, paced_rate=paced_rate, paced_s=paced_s)
    _out(f"# bench-webhook: nginx return 204, 2 KB POST bodies, N={n}, C={c}")
    _out("| client | req/s | vs wrk | vs raw aiohttp |")
    _out("|---|---|---|---|")
    for name, rate in (
        (f"wrk -t1 -c{c} (machine limit)", limit),
        ("aiohttp ClientSession (Python limit)", aio),
        *(
            []
            if sender_only
            else [("httpx + httpx-aiohttp transport", hx_aio), ("httpx default transport", hx)]
        ),
        ("webhook sender (Kafka in, logs out)", result.rate),
    ):
        _out(f"| {name} | {rate:,.0f} | {rate / limit:.3f} | {rate / aio:.2f} |")
    _out()
    _out(
        f"sender backlog: CPU {result.cpu_us_per_job:.0f} us per delivered job "
        f"({result.cpu_us_per_job / aio_cpu_us:.2f}x the raw aiohttp loop's "
        f"{aio_cpu_us:.0f} us per request)"
    )
    _out(
        f"sender paced: CPU {result.paced_cpu_us_per_job:.0f} us per delivered job "
        "(with the benchmark's producer, without making the jobs)"
    )
    _out(f"sender offset commits: {result.commits[0]} in the backlog, {result.commits[1]} paced")
    _out(f"sender backlog: {result.set_aside} jobs set aside to the slow lane")
    _out(
        f"sender backlog: per-attempt HTTP time p50 {result.attempt_p50_ms:.1f} ms, "
        f"p99 {result.attempt_p99_ms:.1f} ms"
    )
    _out(
        f"sender paced at {paced_rate}/s ({result.paced} jobs): event time to 2xx logged "
        f"p50 {result.latency_p50_ms:.1f} ms, p99 {result.latency_p99_ms:.1f} ms; "
        f"failed attempts: {result.failed}"
    )
    if warnings.messages:
        _out(
            f"NOT A RESULT: the sender logged {len(warnings.messages)} warning(s), first: "
            f"{warnings.messages[0]!r}"
        )
        raise SystemExit(1)


if __name__ == "__main__":
    asyncio.run(main())
