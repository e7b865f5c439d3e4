"""Session fixtures for the real servers, and factory fixtures that close what they open.

Each server's endpoint comes, in this order, from:
1. its environment variable (KAFKA_BOOTSTRAP_SERVERS, MONGODB_URI, SQS_ENDPOINT_URL, STOMP_URL);
2. otherwise the local server that `infra/infra.sh` starts (and stops again if it started it).
Tests isolate themselves with unique topic, database, queue and destination names.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiobotocore.session import get_session
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from integrations_testkit.stomp_subscriber import StompSubscriber

pytest_plugins = ["integrations_testkit.fixtures"]

REPO = Path(__file__).resolve().parent
INFRA = REPO / "infra" / "infra.sh"


def unique_name(prefix: str) -> str:
    """A name no other test run uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _local_port(variable: str, default: int) -> int:
    return int(os.environ.get(variable, default))


def _local_defaults() -> dict[str, str]:
    user = os.environ.get("STOMP_USER", "integrations")
    password = os.environ.get("STOMP_PASSWORD", "integrations")
    return {
        "kafka": f"127.0.0.1:{_local_port('KAFKA_PORT', 9092)}",
        "mongodb": f"mongodb://127.0.0.1:{_local_port('MONGODB_PORT', 27017)}",
        "elasticmq": f"http://127.0.0.1:{_local_port('SQS_PORT', 9324)}",
        "activemq": f"stomp://{user}:{password}@127.0.0.1:{_local_port('STOMP_PORT', 61613)}",
    }


_ENV_VARIABLES = {
    "kafka": "KAFKA_BOOTSTRAP_SERVERS",
    "mongodb": "MONGODB_URI",
    "elasticmq": "SQS_ENDPOINT_URL",
    "activemq": "STOMP_URL",
}


class LocalServers:
    """Starts local servers on demand and stops, at the end, only those it started."""

    def __init__(self) -> None:
        self._started: list[str] = []

    def endpoint(self, server: str) -> str:
        """The endpoint of `server`, from the environment or a local server started now."""
        configured = os.environ.get(_ENV_VARIABLES[server])
        if configured:
            return configured
        running = subprocess.run(
            [str(INFRA), "status", server], capture_output=True, check=False
        ).returncode
        if running != 0:
            result = subprocess.run(
                [str(INFRA), "up", server], capture_output=True, text=True, check=False
            )
            if result.returncode != 0:
                pytest.fail(f"could not start {server}:\n{result.stdout}{result.stderr}")
            self._started.append(server)
        return _local_defaults()[server]

    def stop_started(self) -> None:
        """Stop the servers this session started."""
        if self._started:
            subprocess.run([str(INFRA), "down", *self._started], capture_output=True, check=False)


@pytest.fixture(scope="session")
def local_servers() -> Iterator[LocalServers]:
    servers = LocalServers()
    yield servers
    servers.stop_started()


@pytest.fixture(scope="session")
def kafka_bootstrap_servers(local_servers: LocalServers) -> str:
    return local_servers.endpoint("kafka")


@pytest.fixture(scope="session")
def mongodb_uri(local_servers: LocalServers) -> str:
    return local_servers.endpoint("mongodb")


@pytest.fixture(scope="session")
def sqs_endpoint_url(local_servers: LocalServers) -> str:
    return local_servers.endpoint("elasticmq")


@dataclass(frozen=True)
class StompEndpoint:
    """Where a STOMP broker listens, and how to log in."""

    host: str
    port: int
    login: str | None
    passcode: str | None


@pytest.fixture(scope="session")
def stomp_endpoint(local_servers: LocalServers) -> StompEndpoint:
    url = urlsplit(local_servers.endpoint("activemq"))
    return StompEndpoint(url.hostname or "127.0.0.1", url.port or 61613, url.username, url.password)


@pytest.fixture
def destination() -> str:
    """A STOMP queue no other test uses."""
    return f"/queue/{unique_name('test')}"


@pytest.fixture
def subscriber(stomp_endpoint: StompEndpoint, destination: str) -> Iterator[StompSubscriber]:
    """A STOMP client collecting every message sent to `destination`."""
    listener = StompSubscriber(
        host=stomp_endpoint.host,
        port=stomp_endpoint.port,
        login=stomp_endpoint.login,
        passcode=stomp_endpoint.passcode,
        destination=destination,
    )
    yield listener
    listener.close()


TopicFactory = Callable[..., Awaitable[str]]


@pytest.fixture
async def kafka_topic_factory(kafka_bootstrap_servers: str) -> AsyncIterator[TopicFactory]:
    """Creates uniquely named topics and deletes them after the test."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap_servers)
    await admin.start()
    created: list[str] = []

    async def create(prefix: str = "test", partitions: int = 1, **config: str) -> str:
        name = unique_name(prefix)
        await admin.create_topics([NewTopic(name, partitions, 1, topic_configs=config)])
        created.append(name)
        return name

    try:
        yield create
    finally:
        if created:
            await admin.delete_topics(created)
        await admin.close()


@pytest.fixture
async def mongo_database(mongodb_uri: str) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    """A uniquely named database, dropped after the test."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongodb_uri, serverSelectionTimeoutMS=5_000
    )
    database = client[unique_name("test").replace("-", "_")]
    try:
        yield database
    finally:
        await client.drop_database(database.name)
        await client.close()


@pytest.fixture
async def sqs_client(sqs_endpoint_url: str) -> AsyncIterator[Any]:
    """An aiobotocore SQS client for the test endpoint."""
    session = get_session()
    async with session.create_client(
        "sqs",
        endpoint_url=sqs_endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 - ElasticMQ accepts any credentials
    ) as client:
        yield client


QueueFactory = Callable[..., Awaitable[str]]


@pytest.fixture
async def sqs_queue_factory(sqs_client: Any) -> AsyncIterator[QueueFactory]:
    """Creates uniquely named queues (answering their URLs) and deletes them after the test."""
    urls: list[str] = []

    async def create(prefix: str = "test", *, fifo: bool = False) -> str:
        name = unique_name(prefix) + (".fifo" if fifo else "")
        attributes = {"FifoQueue": "true"} if fifo else {}
        response = await sqs_client.create_queue(QueueName=name, Attributes=attributes)
        url: str = response["QueueUrl"]
        urls.append(url)
        return url

    try:
        yield create
    finally:
        for url in urls:
            await sqs_client.delete_queue(QueueUrl=url)
