"""Every service starts, answers its probes and metrics, and stops cleanly on SIGTERM."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.harness import SERVICES, Platform

pytestmark = pytest.mark.e2e


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
