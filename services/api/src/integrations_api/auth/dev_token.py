"""Mint a development HS256 token: `python -m integrations_api.auth.dev_token --store-id S`.

The secret comes from `API_AUTH__JWT_SECRET` or `INTEGRATIONS_JWT_SECRET`. The token is the
last line printed. For local use and tests only.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid

import jwt

SECRET_VARIABLES = ("API_AUTH__JWT_SECRET", "INTEGRATIONS_JWT_SECRET")


def mint(*, secret: str, store_id: str | None, org_id: str | None, ttl_s: int = 86_400) -> str:
    """A signed HS256 token for the tenant, valid for `ttl_s` seconds."""
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": "dev",
        "jti": str(uuid.uuid4()),
        "iat": now,
        "exp": now + ttl_s,
    }
    if store_id:
        claims["store_id"] = store_id
    if org_id:
        claims["org_id"] = org_id
    return jwt.encode(claims, secret, algorithm="HS256")


def main(argv: list[str] | None = None) -> int:
    """Print a token for the tenant given on the command line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store-id", default=None)
    parser.add_argument("--org-id", default=None)
    parser.add_argument("--ttl", type=int, default=86_400, help="lifetime in seconds")
    args = parser.parse_args(argv)
    secret = next((os.environ[v] for v in SECRET_VARIABLES if os.environ.get(v)), None)
    if secret is None:
        print("no secret: set INTEGRATIONS_JWT_SECRET (see .run/secrets.env)", file=sys.stderr)  # noqa: T201
        return 2
    if not (args.store_id or args.org_id):
        print("give STORE_ID and/or ORG_ID", file=sys.stderr)  # noqa: T201
        return 2
    print(mint(secret=secret, store_id=args.store_id, org_id=args.org_id, ttl_s=args.ttl))  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
