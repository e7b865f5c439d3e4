"""The chart's topic-creation hook, run as rendered against the real Kafka: it creates every
platform topic with the configured partitions and compaction, and running it again is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from .conftest import REPO, Render, by_kind

pytestmark = pytest.mark.integration

PARTITIONS = 3


@pytest.fixture
async def admin(kafka_bootstrap_servers: str) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap_servers)
    await client.start()
    try:
        yield client
    finally:
        await client.close()


def hook_command(
    render: Render, *, bootstrap: str, prefix: str
) -> tuple[list[str], dict[str, str]]:
    """The hook container's command and environment, rendered for this Kafka and these names."""
    manifests = render(
        values={
            "kafka.bootstrapServers": bootstrap,
            "topics.partitions": PARTITIONS,
            "topics.events": f"{prefix}.events",
            "topics.eventsDlq": f"{prefix}.events.dlq",
            "topics.config": f"{prefix}.config",
            "topics.deliveriesPrefix": f"{prefix}.deliveries",
            "topics.logs": f"{prefix}.logs",
        }
    )
    (job,) = by_kind(manifests, "Job")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    command = list(container["command"])
    assert command == ["integrations-create-topics"]  # the API package's console script
    command[0] = str(Path(REPO / ".venv" / "bin" / command[0]))
    return command, env


async def run(command: list[str], env: dict[str, str]) -> tuple[int, str, list[str]]:
    """Run the hook's process; answer its exit code, its output and the topics it created."""
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await process.communicate()
    text = output.decode()
    created: list[str] = []
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if record.get("msg") == "topics checked":
                created = record["topics_created"]
    return process.returncode or 0, text, created


async def test_deploy_hook_creates_topics_idempotently(
    render: Render, admin: AIOKafkaAdminClient, kafka_bootstrap_servers: str
) -> None:
    prefix = f"deploy-hook-{uuid.uuid4().hex[:10]}"
    command, env = hook_command(render, bootstrap=kafka_bootstrap_servers, prefix=prefix)
    wanted = {
        f"{prefix}.events",
        f"{prefix}.events.dlq",
        f"{prefix}.config",
        f"{prefix}.logs",
        *(f"{prefix}.deliveries.{t}" for t in ("webhook", "sqs", "stomp")),
        *(f"{prefix}.deliveries.{t}.dlq" for t in ("webhook", "sqs", "stomp")),
        *(f"{prefix}.deliveries.{t}.slow" for t in ("webhook", "sqs", "stomp")),
    }
    try:
        code, output, created = await run(command, env)
        assert code == 0, output
        assert set(created) == wanted
        code, output, created = await run(command, env)
        assert code == 0, output
        assert created == []

        topics = {t for t in await admin.list_topics() if t.startswith(prefix)}
        assert topics == wanted
        described = await admin.describe_topics(sorted(wanted))
        assert {len(t["partitions"]) for t in described} == {PARTITIONS}
        (config,) = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, f"{prefix}.config")]
        )
        entries = {e[0]: e[1] for e in config.resources[0][4]}
        assert entries["cleanup.policy"] == "compact"
    finally:
        existing = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if existing:
            await admin.delete_topics(existing)
