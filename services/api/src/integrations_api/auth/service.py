"""Verifies bearer tokens with PyJWT and answers the tenant they carry."""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import ValidationError

from integrations_api.errors import AuthenticationError, KeySourceUnavailableError
from integrations_api.settings import AuthSettings
from integrations_common.errors import ConfigurationError
from integrations_common.tenancy import Tenant

TENANT_CLAIMS = ("store_id", "org_id")
NUMERIC_DATE_CLAIMS = ("exp", "nbf", "iat")
INVALID = "The token is not valid."


def load_public_key(pem: str) -> Any:
    """The public key of a PEM public (or private) key; `ConfigurationError` otherwise."""
    data = pem.encode()
    try:
        return serialization.load_pem_public_key(data)
    except ValueError:
        pass
    try:
        return serialization.load_pem_private_key(data, password=None).public_key()
    except (ValueError, TypeError) as exc:
        raise ConfigurationError("AUTH__PUBLIC_KEY is not a PEM RSA or EC P-256 key") from exc


def algorithms_for(key: Any) -> list[str]:
    """The one algorithm a public key verifies: RS256 for RSA, ES256 for EC P-256, else none."""
    if isinstance(key, rsa.RSAPublicKey):
        return ["RS256"]
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return ["ES256"]
    return []


def _is_numeric_date(value: Any) -> bool:
    """A JSON number (not a string, not a boolean), finite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class TokenVerifier:
    """Checks signature, expiry (and audience/issuer when configured) of a JWT.

    The accepted algorithm follows the key that verifies: HS256 for the shared secret, RS256 for
    an RSA key, ES256 for an EC P-256 key (from the PEM or from the JWKS entry of the token's
    `kid`). A token signed with another algorithm is a 401, never a key-type error.
    """

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
        self._key: Any = None
        if settings.jwt_secret is not None and settings.jwt_secret.get_secret_value():
            self._key = settings.jwt_secret.get_secret_value()
        elif settings.public_key is not None and settings.public_key.get_secret_value():
            self._key = load_public_key(settings.public_key.get_secret_value())
            if not algorithms_for(self._key):
                raise ConfigurationError("AUTH__PUBLIC_KEY must be an RSA or EC P-256 key")

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
        except (jwt.PyJWTError, TypeError, ValueError) as exc:
            raise AuthenticationError(INVALID) from exc

    def _algorithms(self, key: Any) -> list[str]:
        if isinstance(key, str):
            return self._settings.algorithms
        return algorithms_for(key)

    def _decode(self, token: str, key: Any) -> dict[str, Any]:
        settings = self._settings
        algorithms = self._algorithms(key)
        if not algorithms:
            raise AuthenticationError(INVALID)
        required = ["exp", "iat"] if settings.max_token_lifetime_s is not None else ["exp"]
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            audience=settings.audience,
            issuer=settings.issuer,
            leeway=settings.leeway_s,
            options={"require": required, "verify_aud": settings.audience is not None},
        )
        return claims

    def _check_dates(self, claims: dict[str, Any]) -> None:
        for name in NUMERIC_DATE_CLAIMS:
            if name in claims and not _is_numeric_date(claims[name]):
                raise AuthenticationError(f"The token's {name} claim must be a JSON number.")
        limit = self._settings.max_token_lifetime_s
        if limit is not None and claims["exp"] - claims["iat"] > limit:
            raise AuthenticationError(f"The token's lifetime is longer than {limit} seconds.")

    async def tenant_for(self, *, token: str) -> Tenant:
        """The tenant of a valid token; `AuthenticationError` for anything else."""
        key = await self._signing_key(token)
        try:
            claims = self._decode(token, key)
        except jwt.ExpiredSignatureError as exc:
            raise AuthenticationError("The token has expired.") from exc
        except (jwt.PyJWTError, TypeError, ValueError, OverflowError) as exc:
            # PyJWTError covers InvalidTokenError and InvalidKeyError (a key of another type);
            # the others are what a key or claim of an unexpected shape raises inside PyJWT.
            raise AuthenticationError(INVALID) from exc
        self._check_dates(claims)
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
