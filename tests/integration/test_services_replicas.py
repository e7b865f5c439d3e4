"""`make up REPLICAS=...`: infra/services.sh runs several processes of a worker, each healthy on its
own ops port and in its service's consumer group, and `down` stops every one of them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import REPO
from integrations_testkit.kafka_tools import delete_topics, prefixed_topics

pytestmark = pytest.mark.integration

SCRIPT = REPO / "infra" / "services.sh"
ROUTER_PORT = 18_181
SENDER_PORT = 18_182


def _script(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], env=env, capture_output=True, text=True, check=False, timeout=180
    )


@pytest.fixture
def environment(tmp_path: Path, kafka_bootstrap_servers: str) -> Iterator[dict[str, str]]:
    """A private run directory, ports, topics and consumer groups; everything stopped after."""
    run = f"replicas-{uuid.uuid4().hex[:8]}"
    topics = prefixed_topics(f"test-{run}", partitions=2)
    env = {
        **os.environ,
        "INFRA_RUN_DIR": str(tmp_path / "run"),
        "INFRA_START_TIMEOUT": "60",
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers,
        "REPLICAS": "router=2 webhook-sender=2",
        "ROUTER_OPS__PORT": str(ROUTER_PORT),
        "ROUTER_GROUP_ID": run,
        "ROUTER_TOPICS__EVENTS": topics.events,
        "ROUTER_TOPICS__EVENTS_DLQ": topics.events_dlq,
        "ROUTER_TOPICS__CONFIG": topics.config,
        "ROUTER_TOPICS__DELIVERIES_PREFIX": topics.deliveries_prefix,
        "ROUTER_TOPICS__LOGS": topics.logs,
        "WEBHOOK_SENDER_OPS__PORT": str(SENDER_PORT),
        "WEBHOOK_SENDER_KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap_servers,
        "WEBHOOK_SENDER_DELIVERY__CONSUMER_GROUP": run,
        "WEBHOOK_SENDER_TOPICS__DELIVERIES_PREFIX": topics.deliveries_prefix,
        "WEBHOOK_SENDER_TOPICS__LOGS": topics.logs,
    }
    try:
        yield env
    finally:
        _script(env, "down", "router", "webhook-sender")
        asyncio.run(delete_topics(kafka_bootstrap_servers, f"test-{run}"))


def test_replicas_start_on_their_own_ports_and_all_stop(environment: dict[str, str]) -> None:
    started = _script(environment, "up", "router", "webhook-sender")
    assert started.returncode == 0, started.stdout + started.stderr

    ports = [ROUTER_PORT, ROUTER_PORT + 10, SENDER_PORT, SENDER_PORT + 10]
    health = [httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5) for port in ports]
    status = _script(environment, "status", "router", "webhook-sender").stdout
    stopped = _script(environment, "down", "router", "webhook-sender")
    after = _script(environment, "status", "router", "webhook-sender").stdout

    assert [r.status_code for r in health] == [200, 200, 200, 200]
    for instance in ("router", "router-2", "webhook-sender", "webhook-sender-2"):
        assert f"{instance}: running" in status
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "running (pid" not in after
    run_dir = Path(environment["INFRA_RUN_DIR"])
    assert not list(run_dir.glob("*.pid"))
    assert (run_dir / "logs" / "router-2.log").exists()


def test_replicas_of_the_api_are_refused(environment: dict[str, str]) -> None:
    refused = _script({**environment, "REPLICAS": "api=2"}, "up", "api")
    assert refused.returncode != 0
    assert "the API runs once locally" in refused.stderr
