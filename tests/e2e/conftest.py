"""Fixtures that run the platform's services as real processes, the way `make up` does."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from integrations_testkit.kafka_tools import delete_topics, topic_prefix
from tests.e2e.clients import kafka_producer, running_platform
from tests.e2e.harness import Platform, RunConfig, RunFactory
from tests.e2e.receivers import WebhookReceiver


@pytest.fixture(scope="session")
def new_run(
    kafka_bootstrap_servers: str, mongodb_uri: str, sqs_endpoint_url: str
) -> Iterator[RunFactory]:
    """Makes isolated runs on the test's servers (`new_run(extra_env)`): each with its own
    topics, database and consumer groups. Their topics are deleted at the end of the session
    (a long-lived local Kafka otherwise gathers thousands, and restarts slowly)."""
    made: list[RunConfig] = []

    def make(extra_env: dict[str, str] | None = None) -> RunConfig:
        run = RunConfig(
            kafka_bootstrap_servers=kafka_bootstrap_servers,
            mongodb_uri=mongodb_uri,
            sqs_endpoint_url=sqs_endpoint_url,
            extra_env=extra_env or {},
        )
        made.append(run)
        return run

    yield make
    for run in made:
        with contextlib.suppress(KafkaError, OSError, TimeoutError):
            asyncio.run(delete_topics(kafka_bootstrap_servers, f"{topic_prefix(run.topics)}."))


@pytest.fixture(scope="session")
def run_config(new_run: RunFactory) -> RunConfig:
    """One isolated run: its own topics, database and consumer groups."""
    return new_run()


@pytest.fixture(scope="module")
def platform(module_run: RunConfig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The whole platform on the module's run (a `module_run` fixture of the test module)."""
    with running_platform(module_run, Path(tmp_path_factory.mktemp("platform"))) as running:
        yield running


@pytest.fixture(scope="module")
async def producer(module_run: RunConfig) -> AsyncIterator[AIOKafkaProducer]:
    """A producer of the module's run, as commerce's."""
    async with kafka_producer(module_run.kafka_bootstrap_servers) as started:
        yield started


@pytest.fixture
def idle_platform(run_config: RunConfig, tmp_path: Path) -> Iterator[Platform]:
    """A platform whose services are configured but not started; stopped at the end."""
    platform = Platform(run_config, tmp_path / "logs")
    try:
        yield platform
    finally:
        platform.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    """The e2e receiver (answers by its behaviour; e2e tests use it instead of the testkit's)."""
    async with WebhookReceiver() as started:
        yield started
