"""Authentication (401 in the error format) and tenancy (another tenant's resource is a 404)."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from integrations_api.settings import AuthSettings

from .conftest import JWT_SECRET, RunningApi, auth, started_api, token, update_body, webhook_body
from .test_api_auth_keys import closed_port_url

pytestmark = pytest.mark.integration

MINE = {"store_id": "store-auth-1", "org_id": "org-auth-1"}
THEIRS = {"store_id": "store-auth-2", "org_id": "org-auth-1"}
ORG = {"org_id": "org-auth-1"}

ROUTES = [
    ("GET", "/v2/integrations"),
    ("POST", "/v2/integrations"),
    ("GET", "/v2/integrations/some-id"),
    ("PUT", "/v2/integrations/some-id"),
    ("DELETE", "/v2/integrations/some-id"),
    ("GET", "/v2/integrations/logs"),
    ("GET", "/v2/integrations/some-id/logs"),
    ("GET", "/v2/integrations/some-id/jobs"),
    ("GET", "/v2/integrations/some-id/jobs/some-job/logs"),
]


def _bad_tokens() -> dict[str, str]:
    now = int(time.time())
    return {
        "none": "",
        "garbage": "not-a-jwt",
        "expired": jwt.encode({"store_id": "s", "exp": now - 3600}, JWT_SECRET, algorithm="HS256"),
        "wrong key": jwt.encode({"store_id": "s", "exp": now + 60}, "x" * 48, algorithm="HS256"),
        "no tenant": jwt.encode({"sub": "x", "exp": now + 60}, JWT_SECRET, algorithm="HS256"),
        "no expiry": jwt.encode({"store_id": "s"}, JWT_SECRET, algorithm="HS256"),
        "alg none": jwt.encode({"store_id": "s", "exp": now + 60}, "", algorithm="none"),
        "numeric tenant": jwt.encode(
            {"store_id": 5, "exp": now + 60}, JWT_SECRET, algorithm="HS256"
        ),
    }


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("kind", list(_bad_tokens()))
async def test_bad_token_is_401(running_api: RunningApi, method: str, path: str, kind: str) -> None:
    value = _bad_tokens()[kind]
    headers = {"Authorization": f"Bearer {value}"} if value else {}
    body = webhook_body() if method in ("POST", "PUT") else None
    answer = await running_api.client.request(method, path, json=body, headers=headers)
    assert answer.status_code == 401, answer.text
    error = answer.json()["errors"][0]
    assert error["status"] == 401
    assert error["title"] == "Unauthorized"


async def test_other_tenants_integration_is_not_found_and_unchanged(
    running_api: RunningApi,
) -> None:
    client = running_api.client
    data, base = await running_api.created_webhook_at(MINE)
    for tenant in (THEIRS, ORG):
        headers = auth(**tenant)
        answers = [
            await client.get(base, headers=headers),
            await client.put(base, json=update_body(name="hijack"), headers=headers),
            await client.delete(base, headers=headers),
            await client.get(f"{base}/logs", headers=headers),
            await client.get(f"{base}/jobs", headers=headers),
            await client.get(f"{base}/jobs/any/logs", headers=headers),
        ]
        missing = await client.get("/v2/integrations/does-not-exist", headers=headers)
        for answer in answers:
            assert answer.status_code == 404
            assert answer.json() == missing.json()
        listed = await client.get("/v2/integrations", headers=headers)
        assert data["id"] not in [d["id"] for d in listed.json()["data"]]
    mine = await client.get(base, headers=auth(**MINE))
    assert mine.json()["data"] == data


async def test_store_and_org_tokens_are_different_tenants(running_api: RunningApi) -> None:
    client = running_api.client
    org_made = await client.post(
        "/v2/integrations",
        json=webhook_body(observes=["catalog-release.updated"]),
        headers=auth(**ORG),
    )
    assert org_made.status_code == 200
    org_id = org_made.json()["data"]["id"]
    assert (await client.get(f"/v2/integrations/{org_id}", headers=auth(**ORG))).status_code == 200
    assert (await client.get(f"/v2/integrations/{org_id}", headers=auth(**MINE))).status_code == 404


async def test_store_only_token_works(running_api: RunningApi) -> None:
    headers = {"Authorization": f"Bearer {token(store_id='store-auth-only')}"}
    answer = await running_api.client.post("/v2/integrations", json=webhook_body(), headers=headers)
    assert answer.status_code == 200


async def test_unreachable_jwks_answers_503_retryable(
    kafka_bootstrap_servers: str, mongodb_uri: str
) -> None:
    """Our key source being down is not the client's fault: 503 + Retry-After, not 401."""
    key = ec.generate_private_key(ec.SECP256R1())
    claims = {"store_id": "store-jwks", "exp": int(time.time()) + 60}
    signed = jwt.encode(claims, key, algorithm="ES256", headers={"kid": "k"})
    auth_settings = AuthSettings(jwks_url=closed_port_url(), jwks_timeout_s=2)
    async with started_api(kafka_bootstrap_servers, mongodb_uri, auth=auth_settings) as api:
        answer = await api.client.get(
            "/v2/integrations", headers={"Authorization": f"Bearer {signed}"}
        )
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"
    assert answer.json() == {
        "errors": [
            {
                "status": 503,
                "title": "Service Unavailable",
                "detail": "A dependency is unavailable; retry later.",
            }
        ]
    }
