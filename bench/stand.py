"""The stand a platform benchmark runs on: the platform's processes, a receiver process, a
producer of events, the attempt records on the logs topic and a store client; torn down in one
place whatever happened."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from bench.load import LoadGenerator
from bench.logprobe import AttemptRecords, mongo_client
from integrations_common.kafka import create_producer
from integrations_common.settings import KafkaSettings
from integrations_testkit.kafka_tools import delete_topics
from tests.e2e.harness import REPO, Platform, RunConfig

STORE_ID = "bench-store"
ORG_ID = "bench-org"


def start_receiver(out_dir: Path) -> tuple[subprocess.Popen[bytes], int, Path]:
    """The receiver process, its port, and where it will dump arrivals."""
    ready, dump = out_dir / "receiver.port", out_dir / "arrivals.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.receiver", "--ready-file", str(ready), "--out", str(dump)],
        cwd=REPO,
    )
    deadline = time.monotonic() + 30
    while not ready.exists() or not ready.read_text():
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError("the receiver did not start")
        time.sleep(0.1)
    return process, int(ready.read_text()), dump


@dataclass
class Stand:
    """What a running benchmark works with."""

    stamp: str
    out_dir: Path
    config: RunConfig
    platform: Platform
    receiver: subprocess.Popen[bytes]
    port: int
    dump: Path
    producer: AIOKafkaProducer
    records: AttemptRecords
    store: AsyncMongoClient[dict[str, Any]]
    generator: LoadGenerator


async def open_stand(
    name: str,
    config: RunConfig,
    *,
    partitions: int,
    store_id: str = STORE_ID,
    org_id: str = ORG_ID,
) -> Stand:
    """Start everything for the run `name` (results in `results/<name>-<stamp>`); `close_stand`
    stops it. The attempt records are created, not started (the caller starts them once its
    warm-up is done)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = REPO / "results" / f"{name}-{stamp}"
    out_dir.mkdir(parents=True, exist_ok=True)
    platform = Platform(config, out_dir / "logs")
    sys.stdout.write(f"starting the platform (logs in {out_dir / 'logs'})\n")
    sys.stdout.flush()
    platform.start()
    receiver, port, dump = start_receiver(out_dir)
    kafka = KafkaSettings(bootstrap_servers=config.kafka_bootstrap_servers)
    producer = create_producer(kafka)
    await producer.start()
    return Stand(
        stamp=stamp,
        out_dir=out_dir,
        config=config,
        platform=platform,
        receiver=receiver,
        port=port,
        dump=dump,
        producer=producer,
        records=AttemptRecords(kafka, config.topics.logs, partitions),
        store=mongo_client(config.mongodb_uri),
        generator=LoadGenerator(producer, config.topics.events, store_id, org_id),
    )


async def close_stand(stand: Stand) -> None:
    """Stop what `open_stand` started, each part whatever happened to the others."""
    await stand.producer.stop()
    with contextlib.suppress(Exception):
        await stand.records.stop()
    await stand.store.close()
    stand.receiver.terminate()
    stand.receiver.wait(timeout=60)
    stand.platform.stop()
    await delete_run_topics(stand.platform)


async def delete_run_topics(platform: Platform) -> None:
    """Delete a finished run's topics (best effort): a long-lived Kafka that keeps every bench
    run's topics takes minutes to restart, which a broker-restart fault then measures."""
    run = platform.run
    with contextlib.suppress(Exception):
        async with asyncio.timeout(60):
            await delete_topics(run.kafka_bootstrap_servers, f"run-{run.run_id}.")
