"""Verifies bearer tokens with PyJWT and answers the tenant they carry."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import jwt
from pydantic import ValidationError

from integrations_api.errors import AuthenticationError, KeySourceUnavailableError
from integrations_api.settings import AuthSettings
from integrations_common.errors import ConfigurationError
from integrations_common.tenancy import Tenant

TENANT_CLAIMS = ("store_id", "org_id")


class TokenVerifier:
    """Checks signature, expiry (and audience/issuer when configured) of a JWT."""

    def __init__(self, settings: AuthSettings) -> None:
        if not settings.configured:
            raise ConfigurationError(
                "no token verification key is configured "
                "(AUTH__JWT_SECRET, AUTH__PUBLIC_KEY or AUTH__JWKS_URL)"
            )
        self._settings = settings
        self._jwks = (
            jwt.PyJWKClient(settings.jwks_url, timeout=settings.jwks_timeout_s)
            if settings.jwks_url
            else None
        )
        key = settings.jwt_secret or settings.public_key
        self._key = key.get_secret_value() if key is not None else None

    async def _signing_key(self, token: str) -> Any:
        if self._jwks is None:
            return self._key
        jwks = self._jwks
        try:
            return (await asyncio.to_thread(jwks.get_signing_key_from_jwt, token)).key
        except (jwt.PyJWKClientConnectionError, jwt.PyJWKSetError, json.JSONDecodeError) as exc:
            # Our key source is down or broken, not the client's token: retryable, never 401.
            raise KeySourceUnavailableError("The token key set cannot be fetched.") from exc
        except jwt.PyJWKClientError as exc:
            raise AuthenticationError("The token's signing key is unknown.") from exc

    async def tenant_for(self, *, token: str) -> Tenant:
        """The tenant of a valid token; `AuthenticationError` for anything else."""
        try:
            key = await self._signing_key(token)
            claims = jwt.decode(
                token,
                key,
                algorithms=self._settings.algorithms,
                audience=self._settings.audience,
                issuer=self._settings.issuer,
                leeway=self._settings.leeway_s,
                options={"require": ["exp"], "verify_aud": self._settings.audience is not None},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthenticationError("The token has expired.") from exc
        except jwt.InvalidTokenError as exc:
            raise AuthenticationError("The token is not valid.") from exc
        return tenant_from_claims(claims)


def tenant_from_claims(claims: dict[str, Any]) -> Tenant:
    """The tenant named by `store_id` and/or `org_id`; a token needs at least one."""
    values = {name: claims.get(name) for name in TENANT_CLAIMS}
    if not any(values.values()):
        raise AuthenticationError("The token carries neither a store_id nor an org_id.")
    if any(v is not None and not isinstance(v, str) for v in values.values()):
        raise AuthenticationError("The token's store_id and org_id must be strings.")
    try:
        return Tenant(org_id=values["org_id"] or None, store_id=values["store_id"] or None)
    except ValidationError as exc:
        raise AuthenticationError("The token's store_id or org_id is not valid.") from exc
