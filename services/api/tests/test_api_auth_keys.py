"""Token verification with RS256 public keys and ES256 JWKS, and settings checks."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import SecretStr, ValidationError

from integrations_api.auth.service import TokenVerifier
from integrations_api.errors import AuthenticationError, KeySourceUnavailableError
from integrations_api.settings import AuthSettings
from integrations_common.errors import ConfigurationError
from integrations_testkit.network import closed_port

from .conftest import serving_json

pytestmark = pytest.mark.unit


def _claims(**extra: Any) -> dict[str, Any]:
    return {"store_id": "store-keys", "org_id": "org-keys", "exp": int(time.time()) + 60, **extra}


async def test_rs256_public_key() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    verifier = TokenVerifier(AuthSettings(public_key=SecretStr(public.decode())))
    tenant = await verifier.tenant_for(token=jwt.encode(_claims(), key, algorithm="RS256"))
    assert tenant.key == "store:store-keys"
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(AuthenticationError):
        await verifier.tenant_for(token=jwt.encode(_claims(), other, algorithm="RS256"))
    # An HS256 token "signed" with the public key must not pass (algorithm confusion).
    with pytest.raises(AuthenticationError):
        await verifier.tenant_for(token=jwt.encode(_claims(), "k" * 32, algorithm="HS256"))


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, ec.EllipticCurvePrivateKey]]:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "test-key", "alg": "ES256", "use": "sig"})
    with serving_json(200, json.dumps({"keys": [jwk]}).encode()) as url:
        yield url, key


async def test_es256_jwks(jwks_server: tuple[str, ec.EllipticCurvePrivateKey]) -> None:
    url, key = jwks_server
    verifier = TokenVerifier(AuthSettings(jwks_url=url, audience="integrations"))
    good = jwt.encode(
        _claims(aud="integrations"), key, algorithm="ES256", headers={"kid": "test-key"}
    )
    assert (await verifier.tenant_for(token=good)).store_id == "store-keys"
    wrong_audience = jwt.encode(
        _claims(aud="else"), key, algorithm="ES256", headers={"kid": "test-key"}
    )
    with pytest.raises(AuthenticationError):
        await verifier.tenant_for(token=wrong_audience)
    unknown_kid = jwt.encode(
        _claims(aud="integrations"), key, algorithm="ES256", headers={"kid": "other"}
    )
    with pytest.raises(AuthenticationError):
        await verifier.tenant_for(token=unknown_kid)


def closed_port_url() -> str:
    """A JWKS URL where nothing listens."""
    return f"http://127.0.0.1:{closed_port()}/jwks.json"


def _es256_token() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return jwt.encode(_claims(), key, algorithm="ES256", headers={"kid": "test-key"})


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, b"oops"), (404, b"{}"), (200, b"not json"), (200, b'{"keys": []}')],
    ids=["server error", "not found", "not json", "no keys"],
)
async def test_broken_jwks_endpoint_is_retryable_not_401(status: int, body: bytes) -> None:
    with serving_json(status, body) as url:
        verifier = TokenVerifier(AuthSettings(jwks_url=url, jwks_timeout_s=2))
        with pytest.raises(KeySourceUnavailableError):
            await verifier.tenant_for(token=_es256_token())


async def test_unreachable_jwks_is_retryable_not_401() -> None:
    verifier = TokenVerifier(AuthSettings(jwks_url=closed_port_url(), jwks_timeout_s=2))
    with pytest.raises(KeySourceUnavailableError):
        await verifier.tenant_for(token=_es256_token())
    # A token that is not a JWT at all is still the client's fault.
    with pytest.raises(AuthenticationError):
        await verifier.tenant_for(token="not-a-jwt")


def test_settings_need_exactly_one_key_source() -> None:
    with pytest.raises(ConfigurationError):
        TokenVerifier(AuthSettings())
    with pytest.raises(ValidationError):
        AuthSettings(jwt_secret=SecretStr("a" * 32), jwks_url="http://127.0.0.1/jwks")
