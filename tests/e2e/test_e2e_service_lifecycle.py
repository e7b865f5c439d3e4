"""Every service starts, answers its probes and metrics, and stops cleanly on SIGTERM; a worker
whose Kafka does not answer is alive but not ready."""

from __future__ import annotations

import dataclasses
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import SERVICES, Platform, RunConfig

pytestmark = pytest.mark.e2e

WORKERS = sorted(name for name in SERVICES if name != "api")


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_starts_serves_probes_and_stops_on_sigterm(
    name: str, idle_platform: Platform
) -> None:
    service = idle_platform.services[name]
    service.start()
    service.wait_healthy(path="/readyz")

    health = httpx.get(f"{service.base_url}/healthz", timeout=5)
    metrics = httpx.get(f"{service.base_url}/metrics", timeout=5)
    exit_code = service.stop()

    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "# TYPE" in metrics.text
    assert exit_code == 0, service.tail()


@pytest.fixture
def silent_kafka() -> Iterator[str]:
    """A bootstrap address that accepts connections and never answers: a Kafka that hangs."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    held: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        while not done.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.getsockname()[1]}"
    finally:
        done.set()
        thread.join()
        for connection in held:
            connection.close()
        server.close()


@pytest.mark.parametrize("name", WORKERS)
def test_a_worker_whose_kafka_does_not_answer_is_alive_but_not_ready(
    name: str, run_config: RunConfig, silent_kafka: str, tmp_path: Path
) -> None:
    platform = Platform(
        dataclasses.replace(run_config, kafka_bootstrap_servers=silent_kafka), tmp_path / "logs"
    )
    service = platform.services[name]
    try:
        service.start()
        service.wait_healthy(path="/healthz")
        answers = []
        for _ in range(8):
            answers.append(httpx.get(f"{service.base_url}/readyz", timeout=5).status_code)
            time.sleep(0.25)
    finally:
        service.stop(signal.SIGKILL)
        platform.stop()

    assert answers == [503] * 8, service.tail()
