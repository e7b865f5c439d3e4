"""The ops server answers probes and metrics over real HTTP."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter

from integrations_common.ops_server import OpsServer

pytestmark = pytest.mark.unit


async def test_probes_and_metrics() -> None:
    registry = CollectorRegistry()
    Counter("things", "Things counted.", registry=registry).inc(3)
    ready = False
    server = OpsServer(
        service="svc", host="127.0.0.1", port=0, ready=lambda: ready, registry=registry
    )
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            health = await client.get("/healthz")
            not_ready = await client.get("/readyz")
            ready = True
            now_ready = await client.get("/readyz")
            metrics = await client.get("/metrics")
            missing = await client.get("/nope")
            post = await client.post("/healthz")
    finally:
        await server.stop()

    assert health.json() == {"status": "ok", "service": "svc"}
    assert not_ready.status_code == 503
    assert not_ready.json()["errors"][0]["status"] == 503
    assert now_ready.status_code == 200
    assert "things_total 3.0" in metrics.text
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["title"] == "Not Found"
    assert post.status_code == 405
