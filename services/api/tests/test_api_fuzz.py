"""Seeded random mutations of valid bodies, some cut short: no 5xx, every answer documented.

Complements the schemathesis run with near-valid and truncated (malformed) JSON bodies.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from .conftest import RunningApi, auth, webhook_body
from .test_api_contract import _check

pytestmark = pytest.mark.integration

TENANT = {"store_id": "store-fuzz-1", "org_id": "org-fuzz-1"}
ROUNDS = 150
STRINGS = [
    "",
    "x",
    "order.paid",
    "order.*",
    "integration",
    "aws-sqs",
    "stomp",
    "\u00e9\u4e2d",
    "a" * 300,
    "https://x.test",
    "stomp://h:1",
    "*.*",
    ".",
]


def _value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 2 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1, 2**63, 1.5, 10**30])
    if kind in (3, 4):
        return rng.choice(STRINGS)
    if kind in (5, 6):
        return [_value(rng, depth + 1) for _ in range(rng.randrange(3))]
    return {rng.choice(STRINGS): _value(rng, depth + 1) for _ in range(rng.randrange(3))}


def _mutate(rng: random.Random, body: dict[str, Any]) -> Any:
    data = dict(body["data"])
    for _ in range(rng.randrange(1, 4)):
        action = rng.randrange(4)
        field = rng.choice([*data, "configuration", "extra"])
        if action == 0:
            data.pop(field, None)
        elif action == 1:
            data[field] = _value(rng)
        elif action == 2 and isinstance(data.get("configuration"), dict):
            config = dict(data["configuration"])
            config[rng.choice([*config, "url", "region", "addresses"])] = _value(rng)
            data["configuration"] = config
        else:
            data["integration_type"] = rng.choice(["webhook", "aws_sqs", "aws-sqs", "stomp", "x"])
    return rng.choice([{"data": data}, {"data": data}, {"data": data}, data, _value(rng)])


async def test_random_requests_never_fail_the_server(running_api: RunningApi) -> None:
    client = running_api.client
    document = (await client.get("/v2/openapi.json")).json()
    headers = auth(**TENANT)
    created = await client.post("/v2/integrations", json=webhook_body(), headers=headers)
    item = created.json()["data"]["id"]
    rng = random.Random(20261128)
    statuses: set[int] = set()
    for _ in range(ROUNDS):
        body = _mutate(rng, webhook_body())
        raw = json.dumps(body).encode()
        if rng.random() < 0.1:
            raw = raw[: rng.randrange(len(raw) + 1)]
        content_headers = {**headers, "Content-Type": "application/json"}
        if rng.random() < 0.5:
            answer = await client.post("/v2/integrations", content=raw, headers=content_headers)
            template, method = "/integrations", "post"
        else:
            answer = await client.put(
                f"/v2/integrations/{item}", content=raw, headers=content_headers
            )
            template, method = "/integrations/{integration_uuid}", "put"
        assert answer.status_code < 500, answer.text
        statuses.add(answer.status_code)
        _check(document, template, method, answer)
        query = f"page[offset]={_value(rng)}&page[limit]={_value(rng)}"
        listed = await client.get(f"/v2/integrations?{query}", headers=headers)
        assert listed.status_code < 500, listed.text
        _check(document, "/integrations", "get", listed)
    assert 422 in statuses
