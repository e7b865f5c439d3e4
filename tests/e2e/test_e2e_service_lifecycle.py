"""Every service starts, answers its probes and metrics, and stops cleanly on SIGTERM."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.e2e.conftest import SERVICES, ServiceProcess

pytestmark = pytest.mark.e2e


@pytest.mark.usefixtures("kafka_bootstrap_servers", "mongodb_uri")
@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_starts_serves_probes_and_stops_on_sigterm(
    name: str, start_service: Callable[[str], ServiceProcess]
) -> None:
    service = start_service(name)
    service.wait_healthy()

    health = httpx.get(f"{service.base_url}/healthz", timeout=5)
    metrics = httpx.get(f"{service.base_url}/metrics", timeout=5)
    exit_code = service.terminate()

    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "# TYPE" in metrics.text
    assert exit_code == 0, service.log()
