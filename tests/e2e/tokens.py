"""Bearer tokens for a run, signed with the run's JWT secret the way `make token` signs them."""

from __future__ import annotations

import time

import jwt

from tests.e2e.harness import RunConfig


def mint_token(
    run: RunConfig, *, store_id: str | None, org_id: str | None, ttl_s: int = 3600
) -> str:
    """An HS256 token carrying the tenant claims."""
    now = int(time.time())
    claims: dict[str, object] = {"sub": "e2e", "iat": now, "exp": now + ttl_s}
    if store_id is not None:
        claims["store_id"] = store_id
    if org_id is not None:
        claims["org_id"] = org_id
    return jwt.encode(claims, run.secrets["INTEGRATIONS_JWT_SECRET"], algorithm="HS256")
