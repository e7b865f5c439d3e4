"""At least once: a router killed with SIGKILL in the middle of a stream loses nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from integrations_common.events import CommerceEvent
from integrations_common.integrations import IntegrationSnapshot
from integrations_common.jobs import job_id_for
from integrations_common.transports import Transport

pytestmark = pytest.mark.integration

EVENTS = 3_000
CHUNK = 100


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def router_env(kit: Any, port: int, log_dir: Path) -> dict[str, str]:
    topics = kit.topics
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUTER_")}
    env.update(
        {
            "ROUTER_KAFKA__BOOTSTRAP_SERVERS": kit.kafka.bootstrap_servers,
            "ROUTER_TOPICS__EVENTS": topics.events,
            "ROUTER_TOPICS__EVENTS_DLQ": topics.events_dlq,
            "ROUTER_TOPICS__CONFIG": topics.config,
            "ROUTER_TOPICS__DELIVERIES_PREFIX": topics.deliveries_prefix,
            "ROUTER_TOPICS__LOGS": topics.logs,
            "ROUTER_TOPICS__PARTITIONS": str(topics.partitions),
            "ROUTER_GROUP_ID": f"router-restart-{topics.events}",
            "ROUTER_OPS__PORT": str(port),
            "ROUTER_CREATE_TOPICS": "false",
            "ROUTER_MAX_BATCH": "50",
            "ROUTER_SESSION_TIMEOUT_MS": "6000",
            "ROUTER_HEARTBEAT_INTERVAL_MS": "1000",
            "ROUTER_LOG_LEVEL": "WARNING",
        }
    )
    return env


def start(kit: Any, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "integrations_router"],
            env=router_env(kit, port, log.parent),
            stdout=sink,
            stderr=sink,
        )
    return process, port


async def ready(port: int, process: subprocess.Popen[bytes]) -> None:
    async with asyncio.timeout(60):
        while True:
            assert process.poll() is None, "the router exited while starting"
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
                status = await reader.readline()
                writer.close()
                if b" 200 " in status:
                    return
            except OSError:
                pass
            await asyncio.sleep(0.1)


async def jobs_written(kit: Any, transport: Transport) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=kit.kafka.bootstrap_servers)
    await consumer.start()
    try:
        topic = kit.topics.deliveries(transport)
        partitions = [TopicPartition(topic, p) for p in range(kit.topics.partitions)]
        ends = await consumer.end_offsets(partitions)
        return sum(ends.values())
    finally:
        await consumer.stop()


async def test_kill_9_in_the_middle_of_a_stream_loses_nothing(
    kafka_kit: Any,
    make_snapshot: Callable[..., IntegrationSnapshot],
    make_event: Callable[..., CommerceEvent],
    until: Callable[..., Awaitable[None]],
    tmp_path: Path,
) -> None:
    hook = make_snapshot(store_id="E")
    queue = make_snapshot(store_id="E", integration_type=Transport.SQS)
    await kafka_kit.put_integration(hook)
    await kafka_kit.put_integration(queue)
    events = [make_event(store_id="E") for _ in range(EVENTS)]
    log = tmp_path / "router.log"

    async def stream() -> None:
        for i in range(0, EVENTS, CHUNK):
            for commerce_event in events[i : i + CHUNK]:
                await kafka_kit.emit(commerce_event, key=commerce_event.id.encode())
            await asyncio.sleep(0.05)

    first, port = start(kafka_kit, log)
    second: subprocess.Popen[bytes] | None = None
    try:
        await ready(port, first)
        producing = asyncio.create_task(stream())
        async with asyncio.timeout(60):
            while True:
                if await jobs_written(kafka_kit, Transport.WEBHOOK) >= EVENTS // 10:
                    break
                await asyncio.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed_with = await jobs_written(kafka_kit, Transport.WEBHOOK)

        second, port = start(kafka_kit, log)
        await ready(port, second)
        await producing

        wanted = {e.id for e in events}
        async with asyncio.timeout(120):
            while True:
                webhook = await kafka_kit.all_jobs(Transport.WEBHOOK)
                sqs = await kafka_kit.all_jobs(Transport.SQS)
                routed = [{j["event"]["id"] for j in jobs} for jobs in (webhook, sqs)]
                if all(ids >= wanted for ids in routed):
                    break
                await asyncio.sleep(0.5)
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()

    assert killed_with < EVENTS, "the kill came after the stream was fully routed"
    assert {j["event"]["id"] for j in webhook} == wanted
    assert {j["event"]["id"] for j in sqs} == wanted
    assert all(j["job_id"] == job_id_for(j["event"]["id"], hook.id) for j in webhook)
    assert len(webhook) >= EVENTS
