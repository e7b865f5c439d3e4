"""Fixtures of the API tests: a whole app on unique topics and a unique database."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI
from pydantic import SecretStr

from integrations_api.app import create_app
from integrations_api.auth.dev_token import mint
from integrations_api.logs.store import LogStore
from integrations_api.server import server_config
from integrations_api.settings import (
    ApiSettings,
    AuthSettings,
    PublishingSettings,
    RateLimitSettings,
)
from integrations_common.attempts import AttemptLog
from integrations_common.jobs import DeliveryJob
from integrations_common.secret_box import EncryptionSettings, generate_key
from integrations_common.settings import KafkaSettings, MongoSettings, TopicSettings
from integrations_common.store.mongo import create_client
from integrations_common.transports import Transport
from integrations_log_writer.sink import write_attempts
from integrations_testkit.kafka_tools import delete_topics, topic_prefix, unique
from integrations_testkit.kafka_tools import unique_topics as testkit_unique_topics

JWT_SECRET = "test-secret-" + "x" * 40


def unique_topics() -> TopicSettings:
    """Topic names of this module only."""
    return testkit_unique_topics("api", partitions=1)


def api_settings(kafka: str, mongodb: str, topics: TopicSettings, **overrides: Any) -> ApiSettings:
    """Settings for an app under test."""
    values: dict[str, Any] = {
        "kafka": KafkaSettings(bootstrap_servers=kafka, client_id="api-test"),
        "mongodb": MongoSettings(
            uri=SecretStr(mongodb), database=unique("api_test").replace("-", "_")
        ),
        "topics": topics,
        "auth": AuthSettings(jwt_secret=SecretStr(JWT_SECRET)),
        "encryption": EncryptionSettings(keys=SecretStr(generate_key())),
        "publishing": PublishingSettings(reconcile_interval_s=0.5, timeout_s=10),
        # Most modules make many requests as one tenant; test_api_rate_limit.py turns it on.
        "rate_limit": RateLimitSettings(enabled=False),
    }
    values.update(overrides)
    return ApiSettings(**values)


def token(*, store_id: str | None = None, org_id: str | None = None) -> str:
    """A valid token for the tenant."""
    return mint(secret=JWT_SECRET, store_id=store_id, org_id=org_id)


def auth(*, store_id: str | None = None, org_id: str | None = None) -> dict[str, str]:
    """Authorization header for the tenant."""
    return {"Authorization": f"Bearer {token(store_id=store_id, org_id=org_id)}"}


@dataclass
class RunningApi:
    """An app started with its lifespan, and a client for it."""

    app: FastAPI
    client: httpx.AsyncClient
    settings: ApiSettings

    async def created_webhook(self, tenant: dict[str, str], **overrides: Any) -> dict[str, Any]:
        """Create a webhook integration (`webhook_body(**overrides)`) as `tenant`; answer it."""
        created = await self.client.post(
            "/v2/integrations", json=webhook_body(**overrides), headers=auth(**tenant)
        )
        assert created.status_code == 200, created.text
        data: dict[str, Any] = created.json()["data"]
        return data

    async def created_webhook_at(
        self, tenant: dict[str, str], **overrides: Any
    ) -> tuple[dict[str, Any], str]:
        """Create a webhook integration as `tenant`; answer it and its path."""
        data = await self.created_webhook(tenant, **overrides)
        return data, f"/v2/integrations/{data['id']}"

    async def store_attempts(self, logs: list[AttemptLog]) -> None:
        """Store attempt logs and their jobs in the app's database, with the log writer's code."""
        client = create_client(self.settings.mongodb)
        database = client[self.settings.mongodb.database]
        try:
            store = LogStore.of(database)
            await write_attempts(store=store, logs=logs, chunk_size=100)
        finally:
            await client.close()

    async def sent_jobs(self, integration_id: str, count: int) -> list[DeliveryJob]:
        """The integration's jobs on the webhook deliveries topic, once there are `count`."""
        topic = self.settings.topics.deliveries(Transport.WEBHOOK)
        bootstrap = self.settings.kafka.bootstrap_servers
        key = integration_id.encode()
        records = await read_topic(
            bootstrap, topic, until=lambda found: sum(r.key == key for r in found) >= count
        )
        return [DeliveryJob.model_validate_json(r.value) for r in records if r.key == key]


async def drop_topics(kafka: str, topics: TopicSettings) -> None:
    """Delete the topics a test module created."""
    await delete_topics(kafka, topic_prefix(topics))


async def drop_database(settings: ApiSettings) -> None:
    """Drop a test module's database."""
    from pymongo import AsyncMongoClient  # noqa: PLC0415

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb.uri.get_secret_value()
    )
    await client.drop_database(settings.mongodb.database)
    await client.close()


@asynccontextmanager
async def started_api(kafka: str, mongodb: str, **overrides: Any) -> AsyncIterator[RunningApi]:
    """An app started with its lifespan on its own topics and database (dropped after)."""
    topics = unique_topics()
    settings = api_settings(kafka, mongodb, topics, **overrides)
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
                yield RunningApi(app=app, client=client, settings=settings)
    finally:
        await drop_database(settings)
        await drop_topics(kafka, topics)


@pytest.fixture(scope="module")
async def running_api(kafka_bootstrap_servers: str, mongodb_uri: str) -> AsyncIterator[RunningApi]:
    """One app per test module, on its own topics and database."""
    async with started_api(kafka_bootstrap_servers, mongodb_uri) as api:
        yield api


class JsonHandler(BaseHTTPRequestHandler):
    """A request handler of a local test server: answers JSON, logs nothing."""

    def answer_json(self, status: int, body: bytes) -> None:
        """Answer `status` with `body` as JSON."""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        return


@contextmanager
def serving_json(status: int, body: bytes) -> Iterator[str]:
    """A local HTTP server answering every GET with `status` and `body` (as JSON); yields a
    `/jwks.json` URL on it."""

    class Handler(JsonHandler):
        def do_GET(self) -> None:
            self.answer_json(status, body)

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


async def read_topic(
    bootstrap: str, topic: str, *, until: Callable[[list[Any]], bool], max_polls: int = 60
) -> list[Any]:
    """Read `topic` from the start until `until(records)` holds (or polls run out)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    records: list[Any] = []
    try:
        for _ in range(max_polls):
            batch = await consumer.getmany(timeout_ms=500)
            for partition_records in batch.values():
                records.extend(partition_records)
            if until(records):
                break
    finally:
        await consumer.stop()
    return records


ReadTopic = Callable[..., Awaitable[list[Any]]]


def webhook_body(**overrides: Any) -> dict[str, Any]:
    """A valid create request for a webhook integration."""
    data: dict[str, Any] = {
        "type": "integration",
        "name": "Order paid notification",
        "description": "Fire an event on order paid",
        "enabled": True,
        "integration_type": "webhook",
        "observes": ["order.paid"],
        "configuration": {"url": "https://example.com/hook", "secret_key": "secret_squirrel_1234"},
    }
    data.update(overrides)
    return {"data": data}


def update_body(**attributes: Any) -> dict[str, Any]:
    """An update request that gives `attributes`."""
    return {"data": {"type": "integration", **attributes}}


class ServedApi:
    """The API served by uvicorn on an ephemeral port, in a thread with its own event loop."""

    def __init__(self, *, kafka: str, mongodb: str, **overrides: Any) -> None:
        self.topics = unique_topics()
        self.settings = api_settings(kafka, mongodb, self.topics, **overrides)
        self.kafka = kafka
        self.app = create_app(self.settings)
        # The server configuration `integrations-api` runs with, on an ephemeral port.
        config = server_config(self.app, self.settings, host="127.0.0.1", port=0, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name="served-api", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            try:
                await self.server.serve()
            finally:
                await drop_database(self.settings)
                await drop_topics(self.kafka, self.topics)

        asyncio.run(main())

    @property
    def base_url(self) -> str:
        """Where the API answers."""
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __enter__(self) -> ServedApi:
        self.thread.start()
        for _ in range(600):
            if self.server.started or not self.thread.is_alive():
                break
            time.sleep(0.05)
        if not self.server.started:
            raise RuntimeError("the API did not start")
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
