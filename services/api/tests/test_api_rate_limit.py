"""Issue 13, item 6: a token bucket per tenant answers 429 with `Retry-After` in the envelope."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from integrations_api.rate_limit import TenantRateLimiter
from integrations_api.settings import RateLimitSettings

from .conftest import auth, started_api

pytestmark = pytest.mark.integration

A = {"store_id": "store-rate-a", "org_id": "org-rate"}
B = {"store_id": "store-rate-b", "org_id": "org-rate"}


@asynccontextmanager
async def _client(
    kafka: str, mongodb: str, limits: RateLimitSettings
) -> AsyncIterator[httpx.AsyncClient]:
    async with started_api(kafka, mongodb, rate_limit=limits, create_topics=False) as api:
        yield api.client


async def test_over_the_burst_a_tenant_gets_429_with_retry_after_and_others_do_not(
    kafka_bootstrap_servers: str, mongodb_uri: str
) -> None:
    # One token back every 100 s: nothing refills while the test runs.
    limits = RateLimitSettings(requests_per_s=0.01, burst=3)
    async with _client(kafka_bootstrap_servers, mongodb_uri, limits) as client:
        first = [
            (await client.get("/v2/integrations", headers=auth(**A))).status_code for _ in range(3)
        ]
        limited = await client.get("/v2/integrations/logs", headers=auth(**A))
        other_tenant = await client.get("/v2/integrations", headers=auth(**B))
        unauthenticated = await client.get("/v2/integrations")
        health = await client.get("/healthz")
    assert first == [200, 200, 200]
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 100
    assert limited.headers["content-type"] == "application/json"
    assert limited.json() == {
        "errors": [
            {
                "status": 429,
                "title": "Too Many Requests",
                "detail": "Too many requests for this tenant; retry after "
                f"{limited.headers['Retry-After']} seconds.",
            }
        ]
    }
    assert other_tenant.status_code == 200
    assert unauthenticated.status_code == 401
    assert health.status_code == 200


async def test_disabled_rate_limit_never_answers_429(
    kafka_bootstrap_servers: str, mongodb_uri: str
) -> None:
    limits = RateLimitSettings(enabled=False, requests_per_s=0.01, burst=1)
    async with _client(kafka_bootstrap_servers, mongodb_uri, limits) as client:
        statuses = {
            (await client.get("/v2/integrations", headers=auth(**A))).status_code for _ in range(5)
        }
    assert statuses == {200}


async def test_429_is_documented_on_every_operation(
    kafka_bootstrap_servers: str, mongodb_uri: str
) -> None:
    async with _client(kafka_bootstrap_servers, mongodb_uri, RateLimitSettings()) as client:
        document = (await client.get("/v2/openapi.json")).json()
    for item in document["paths"].values():
        for operation in item.values():
            assert operation["responses"]["429"]["x-extension"] is True


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.unit
def test_bucket_refills_at_the_configured_rate_and_is_bounded() -> None:
    clock = FakeClock()
    limiter = TenantRateLimiter(
        RateLimitSettings(requests_per_s=2, burst=4, max_tenants=2), clock=clock
    )
    assert [limiter.take("a") for _ in range(4)] == [None] * 4
    assert limiter.take("a") == 1
    clock.now += 0.5  # one token back
    assert limiter.take("a") is None
    assert limiter.take("a") == 1
    clock.now += 60  # never more than the burst
    assert [limiter.take("a") for _ in range(5)] == [None] * 4 + [1]
    # A slow rate answers the whole wait, rounded up.
    slow = TenantRateLimiter(RateLimitSettings(requests_per_s=0.1, burst=1), clock=clock)
    assert slow.take("a") is None
    assert slow.take("a") == 10
    # Only the most recently seen tenants keep a bucket.
    limiter.take("b")
    limiter.take("c")
    assert limiter.take("a") is None  # "a" was forgotten: a fresh, full bucket
