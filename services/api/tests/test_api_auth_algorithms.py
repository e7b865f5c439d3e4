"""Issue 13, item 1: every token problem is a 401 in the error envelope, never a 5xx.

Real apps (real Kafka, the local store) answer real HTTP requests signed with real RSA and EC
keys: PEM public keys, and a JWKS served over HTTP.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from pydantic import SecretStr

from integrations_api.auth.service import TokenVerifier
from integrations_api.settings import AuthSettings
from integrations_common.errors import ConfigurationError

from .conftest import JWT_SECRET, serving_json, started_api

pytestmark = pytest.mark.integration

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
EC_P384_KEY = ec.generate_private_key(ec.SECP384R1())


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> SecretStr:
    return SecretStr(
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"store_id": "store-alg", "iat": now, "exp": now + 300, **extra}


@asynccontextmanager
async def _client(kafka: str, mongodb: str, auth: AuthSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with started_api(kafka, mongodb, auth=auth, create_topics=False) as api:
        yield api.client


async def _status(client: httpx.AsyncClient, token: str) -> int:
    answer = await client.get("/v2/integrations", headers={"Authorization": f"Bearer {token}"})
    if answer.status_code != 200:
        assert answer.headers["content-type"] == "application/json"
        error = answer.json()["errors"][0]
        assert error["status"] == answer.status_code
        assert error["title"] == "Unauthorized"
        assert answer.headers["WWW-Authenticate"] == "Bearer"
    return answer.status_code


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    """A JWKS with an RSA key (`rsa-key`), an EC P-256 key (`ec-key`) and a P-384 key."""
    keys = []
    for kid, alg, key in (
        ("rsa-key", "RS256", RSA_KEY),
        ("ec-key", "ES256", EC_KEY),
        ("ec384-key", None, EC_P384_KEY),
    ):
        algorithm: Any = (
            jwt.algorithms.RSAAlgorithm if kid == "rsa-key" else jwt.algorithms.ECAlgorithm
        )
        jwk = json.loads(algorithm.to_jwk(key.public_key()))
        jwk.update({"kid": kid, "use": "sig"})
        if alg:
            jwk["alg"] = alg
        keys.append(jwk)
    with serving_json(200, json.dumps({"keys": keys}).encode()) as url:
        yield url


@pytest.mark.parametrize(
    ("key", "algorithm", "other_key", "other_algorithm"),
    [(RSA_KEY, "RS256", EC_KEY, "ES256"), (EC_KEY, "ES256", RSA_KEY, "RS256")],
    ids=["rsa public key refuses es256", "ec public key refuses rs256"],
)
async def test_a_public_key_refuses_tokens_of_the_other_algorithm_with_401(
    kafka_bootstrap_servers: str,
    mongodb_uri: str,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    algorithm: str,
    other_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    other_algorithm: str,
) -> None:
    auth = AuthSettings(public_key=_pem(key))
    async with _client(kafka_bootstrap_servers, mongodb_uri, auth) as client:
        assert await _status(client, jwt.encode(_claims(), key, algorithm=algorithm)) == 200
        assert (
            await _status(client, jwt.encode(_claims(), other_key, algorithm=other_algorithm))
            == 401
        )


async def test_jwks_refuses_a_token_whose_kid_names_a_key_of_another_type(
    kafka_bootstrap_servers: str, mongodb_uri: str, jwks_url: str
) -> None:
    auth = AuthSettings(jwks_url=jwks_url, jwks_timeout_s=5)
    tokens = {
        "good rs256": (jwt.encode(_claims(), RSA_KEY, "RS256", headers={"kid": "rsa-key"}), 200),
        "good es256": (jwt.encode(_claims(), EC_KEY, "ES256", headers={"kid": "ec-key"}), 200),
        "es256 with the rsa kid": (
            jwt.encode(_claims(), EC_KEY, "ES256", headers={"kid": "rsa-key"}),
            401,
        ),
        "rs256 with the ec kid": (
            jwt.encode(_claims(), RSA_KEY, "RS256", headers={"kid": "ec-key"}),
            401,
        ),
        "es384 key": (
            jwt.encode(_claims(), EC_P384_KEY, "ES384", headers={"kid": "ec384-key"}),
            401,
        ),
        "hs256 with the rsa kid": (
            jwt.encode(_claims(), "k" * 48, "HS256", headers={"kid": "rsa-key"}),
            401,
        ),
    }
    async with _client(kafka_bootstrap_servers, mongodb_uri, auth) as client:
        answers = {name: await _status(client, token) for name, (token, _) in tokens.items()}
    assert answers == {name: expected for name, (_, expected) in tokens.items()}


def _hs(claims: dict[str, Any]) -> str:
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


async def test_numeric_date_claims_must_be_json_numbers_and_lifetime_is_capped(
    kafka_bootstrap_servers: str, mongodb_uri: str
) -> None:
    now = int(time.time())
    auth = AuthSettings(jwt_secret=SecretStr(JWT_SECRET), max_token_lifetime_s=3600)
    tokens = {
        "good": (_hs({"store_id": "s", "iat": now, "exp": now + 3600}), 200),
        "float dates": (_hs({"store_id": "s", "iat": now + 0.5, "exp": now + 60.5}), 200),
        "exp as a numeric string": (_hs({"store_id": "s", "iat": now, "exp": str(now + 60)}), 401),
        "iat as a numeric string": (_hs({"store_id": "s", "iat": str(now), "exp": now + 60}), 401),
        "nbf as a numeric string": (
            _hs({"store_id": "s", "iat": now, "nbf": str(now), "exp": now + 60}),
            401,
        ),
        "exp as a boolean": (_hs({"store_id": "s", "iat": now, "exp": True}), 401),
        "lifetime over the cap": (_hs({"store_id": "s", "iat": now, "exp": now + 3601}), 401),
        "no iat with a cap": (_hs({"store_id": "s", "exp": now + 60}), 401),
    }
    async with _client(kafka_bootstrap_servers, mongodb_uri, auth) as client:
        answers = {name: await _status(client, token) for name, (token, _) in tokens.items()}
        # An infinite exp (JSON `1e400`) is not a number PyJWT can convert either.
        header = jwt.utils.base64url_encode(b'{"alg":"HS256","typ":"JWT"}')
        payload = jwt.utils.base64url_encode(b'{"store_id":"s","iat":1,"exp":1e400}')
        signing_input = header + b"." + payload
        signature = jwt.algorithms.HMACAlgorithm(jwt.algorithms.HMACAlgorithm.SHA256).sign(
            signing_input, JWT_SECRET.encode()
        )
        infinite = (signing_input + b"." + jwt.utils.base64url_encode(signature)).decode()
        answers["infinite exp"] = await _status(client, infinite)
    expected = {name: status for name, (_, status) in tokens.items()}
    expected["infinite exp"] = 401
    assert answers == expected


async def test_without_a_lifetime_cap_long_tokens_pass_but_string_exp_does_not(
    kafka_bootstrap_servers: str, mongodb_uri: str
) -> None:
    now = int(time.time())
    auth = AuthSettings(jwt_secret=SecretStr(JWT_SECRET))
    async with _client(kafka_bootstrap_servers, mongodb_uri, auth) as client:
        assert await _status(client, _hs({"store_id": "s", "exp": now + 86_400 * 365})) == 200
        assert await _status(client, _hs({"store_id": "s", "exp": str(now + 60)})) == 401


@pytest.mark.unit
def test_a_public_key_that_verifies_neither_rs256_nor_es256_stops_the_api() -> None:
    for key in (ed25519.Ed25519PrivateKey.generate(), EC_P384_KEY):
        pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        with pytest.raises(ConfigurationError):
            TokenVerifier(AuthSettings(public_key=SecretStr(pem.decode())))
    with pytest.raises(ConfigurationError):
        TokenVerifier(AuthSettings(public_key=SecretStr("not a pem")))
