"""A frozen store under load is never silent, and nothing is lost when it comes back.

The platform runs on a private store (its own process, port and data file), so that freezing it
with SIGSTOP touches no other test. While events flow, the store is frozen: the API's and the
log writer's `/readyz` must fail and API requests answer 503 with `Retry-After`; deliveries go
on. After SIGCONT, every attempt log arrives without any restart and the API answers again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from tests.e2e.clients import api_client, cloud_event, send_event, webhook_attributes
from tests.e2e.harness import REPO, Platform, RunConfig, free_port
from tests.e2e.receivers import WebhookReceiver

pytestmark = pytest.mark.e2e

INFRA = REPO / "infra" / "infra.sh"
STORE_ID = f"store-{uuid.uuid4().hex[:8]}"
ORG_ID = f"org-{uuid.uuid4().hex[:8]}"
EVENTS_BEFORE = 60
EVENTS_DURING = 60
SHORT_TIMEOUTS = {
    "API_MONGODB__TIMEOUT_MS": "3000",
    "LOG_WRITER_MONGODB__TIMEOUT_MS": "3000",
    "LOG_WRITER_STORE_PROBE_INTERVAL_S": "1",
    "LOG_WRITER_STORE_PROBE_TIMEOUT_S": "2",
    "LOG_WRITER_RETRY_BACKOFF_MAX_S": "2",
}


@dataclass(frozen=True)
class PrivateStore:
    """A store process of this test's own."""

    uri: str
    pid: int


@pytest.fixture
def private_store(tmp_path: Path) -> Iterator[PrivateStore]:
    port = free_port()
    env = {**os.environ, "MONGODB_PORT": str(port), "INFRA_RUN_DIR": str(tmp_path / "run")}
    started = subprocess.run(
        [str(INFRA), "up", "mongodb"], env=env, capture_output=True, text=True, check=False
    )
    assert started.returncode == 0, started.stdout + started.stderr
    pid = int((tmp_path / "run" / "mongodb.pid").read_text())
    try:
        yield PrivateStore(uri=f"mongodb://127.0.0.1:{port}", pid=pid)
    finally:
        os.kill(pid, signal.SIGCONT)
        subprocess.run([str(INFRA), "down", "mongodb"], env=env, capture_output=True, check=False)


@pytest.fixture
def platform(
    private_store: PrivateStore,
    kafka_bootstrap_servers: str,
    sqs_endpoint_url: str,
    tmp_path: Path,
) -> Iterator[Platform]:
    run = RunConfig(
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        mongodb_uri=private_store.uri,
        sqs_endpoint_url=sqs_endpoint_url,
        extra_env=SHORT_TIMEOUTS,
    )
    running = Platform(run, tmp_path / "logs")
    try:
        running.start()
        yield running
    finally:
        running.stop()


async def emit(producer: AIOKafkaProducer, run: RunConfig, count: int, per_s: float) -> None:
    """`count` order.paid events of the test's store, paced at `per_s`."""
    for _ in range(count):
        event = cloud_event(
            "order.paid",
            source="urn:e2e:store-freeze",
            org_id=ORG_ID,
            store_id=STORE_ID,
            datacontenttype="application/json",
        )
        event["data"] = {"id": event["id"], "type": "order"}
        await send_event(producer, run, event)
        await asyncio.sleep(1 / per_s)


async def status_of(client: httpx.AsyncClient, url: str) -> int:
    """The status of GET `url`, or 0 when it does not answer in time."""
    try:
        return (await client.get(url)).status_code
    except httpx.HTTPError:
        return 0


async def wait_until(predicate: Any, timeout: float, what: str) -> None:
    """Poll the async `predicate` every 0.5 s until it holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.5)


async def test_frozen_store_is_reported_then_recovered_with_no_log_lost(
    platform: Platform, private_store: PrivateStore, receiver: WebhookReceiver
) -> None:
    run = platform.run
    api = api_client(platform, run, store_id=STORE_ID, org_id=ORG_ID)
    probes = httpx.AsyncClient(timeout=10)
    store: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(private_store.uri, timeoutMS=10_000)
    logs = store[run.database]["integration_logs"]
    producer = AIOKafkaProducer(bootstrap_servers=run.kafka_bootstrap_servers, acks="all")
    await producer.start()
    api_ready = f"{platform.api_url}/readyz"
    writer_ready = f"{platform.services['log-writer'].base_url}/readyz"
    try:
        created = await api.post(
            "/integrations",
            json={"data": webhook_attributes("store freeze", receiver.url, "freeze-secret")},
        )
        assert created.status_code == 200, created.text
        await asyncio.sleep(3)  # the router picks the integration up
        await emit(producer, run, EVENTS_BEFORE, per_s=30)

        async def some_logs_stored() -> bool:
            return await logs.count_documents({}) > 0

        await wait_until(some_logs_stored, 60, "the first attempt logs")

        os.kill(private_store.pid, signal.SIGSTOP)
        during = asyncio.create_task(emit(producer, run, EVENTS_DURING, per_s=30))

        async def both_not_ready() -> bool:
            api_status = await status_of(probes, api_ready)
            writer_status = await status_of(probes, writer_ready)
            return api_status not in (200, 0) and writer_status not in (200, 0)

        await wait_until(both_not_ready, 30, "/readyz of the API and the log writer to fail")
        frozen_answer = await api.get("/integrations")
        assert frozen_answer.status_code == 503, frozen_answer.text
        assert frozen_answer.headers["Retry-After"]
        assert frozen_answer.json()["errors"][0]["status"] == 503
        await during
        total = EVENTS_BEFORE + EVENTS_DURING
        await receiver.wait_for(lambda requests: len(requests) >= total, timeout=60)

        os.kill(private_store.pid, signal.SIGCONT)

        async def every_log_stored() -> bool:
            return await logs.count_documents({}) >= total

        await wait_until(every_log_stored, 90, "every attempt log after the store came back")

        async def both_ready() -> bool:
            return (
                await status_of(probes, api_ready) == 200
                and await status_of(probes, writer_ready) == 200
            )

        await wait_until(both_ready, 30, "/readyz of the API and the log writer to recover")
        answer = await api.get("/integrations/logs", params={"page[limit]": 100})
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["data"]) == 100
        delivered_jobs = {request.headers["webhook-id"] for request in receiver.requests}
        stored_jobs = {doc["job_id"] async for doc in logs.find({}, {"job_id": 1})}
        assert delivered_jobs == stored_jobs
        assert len(stored_jobs) == total
    finally:
        await producer.stop()
        await api.aclose()
        await probes.aclose()
        await store.close()
