"""What the users of a running platform hold: a tenant's API client and a Kafka producer."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from tests.e2e.harness import Platform, RunConfig
from tests.e2e.tokens import mint_token


@contextmanager
def running_platform(run: RunConfig, logs: Path) -> Iterator[Platform]:
    """Every service started; stopped after, each one having exited cleanly."""
    platform = Platform(run, logs)
    try:
        platform.start()
        yield platform
    finally:
        codes = platform.stop()
        assert all(code in (0, None) for code in codes.values()), codes


def api_client(
    platform: Platform, run: RunConfig, *, store_id: str | None, org_id: str | None
) -> httpx.AsyncClient:
    """A client of the platform's `/v2` API, with a token of the tenant."""
    token = mint_token(run, store_id=store_id, org_id=org_id)
    return httpx.AsyncClient(
        base_url=f"{platform.api_url}/v2",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


@asynccontextmanager
async def kafka_producer(bootstrap_servers: str) -> AsyncIterator[AIOKafkaProducer]:
    """A started producer waiting for every in-sync replica (acks all); stopped after."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


def cloud_event(
    event_type: str,
    *,
    source: str,
    org_id: str,
    store_id: str | None,
    data: dict[str, Any] | None = None,
    **extensions: str,
) -> dict[str, Any]:
    """A structured CloudEvent as commerce produces it, with a new id and the time now; its data
    is a paid order of the event's id unless `data` is given."""
    event_id = str(uuid.uuid4())
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": event_type,
        "time": datetime.now(UTC).isoformat(),
        "orgid": org_id,
        **extensions,
        "data": data
        if data is not None
        else {"data": {"type": "order", "id": event_id, "status": "paid"}},
    }
    if store_id is not None:
        event["storeid"] = store_id
    return event


async def send_event(producer: AIOKafkaProducer, run: RunConfig, event: dict[str, Any]) -> None:
    """Send a CloudEvent (structured JSON, keyed by its id) to the run's events topic."""
    await producer.send_and_wait(
        run.topics.events,
        json.dumps(event).encode(),
        key=str(event["id"]).encode(),
        headers=[("content-type", b"application/cloudevents+json")],
    )


def webhook_attributes(name: str, url: str, secret_key: str) -> dict[str, object]:
    """A create request's data for a webhook integration observing `order.paid`."""
    return {
        "type": "integration",
        "name": name,
        "integration_type": "webhook",
        "observes": ["order.paid"],
        "configuration": {"url": url, "secret_key": secret_key},
    }
