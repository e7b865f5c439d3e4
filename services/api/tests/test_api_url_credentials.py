"""Issue 13, item 3: credentials in URLs are refused with a 422 that says where they belong.

Integrations stored before the rule keep working, but no answer or event shows the credentials.
"""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import AsyncMongoClient

from .conftest import RunningApi, auth, update_body, webhook_body

pytestmark = pytest.mark.integration

TENANT = {"store_id": "store-urlcreds-1", "org_id": "org-urlcreds-1"}
PASSWORD = "hunter2-url-password"


def _problems(answer: Any) -> list[dict[str, Any]]:
    assert answer.status_code == 422, answer.text
    assert PASSWORD not in answer.text
    return list(answer.json()["errors"])


@pytest.mark.parametrize(
    "url",
    [
        f"http://user:{PASSWORD}@receiver.example.com/hook",
        f"https://user:{PASSWORD}@receiver.example.com:8443/hook?x=1",
        "https://user@receiver.example.com/hook",
        "https://@receiver.example.com/hook",
        f"https://user:{PASSWORD}@[2001:db8::1]/hook",
    ],
)
async def test_webhook_url_with_credentials_is_422(running_api: RunningApi, url: str) -> None:
    body = webhook_body(configuration={"url": url, "secret_key": "secret_squirrel_1234"})
    answer = await running_api.client.post("/v2/integrations", json=body, headers=auth(**TENANT))
    [problem] = _problems(answer)
    assert problem["status"] == 422
    assert problem["title"] == "Validation Error"
    assert problem["source"] == {"pointer": "/data/configuration/url"}
    assert "must not contain credentials" in problem["detail"]
    assert "secret_key" in problem["detail"]


async def test_an_at_sign_outside_the_authority_is_fine(running_api: RunningApi) -> None:
    body = webhook_body(configuration={"url": "https://receiver.example.com/a@b?c=d@e"})
    answer = await running_api.client.post("/v2/integrations", json=body, headers=auth(**TENANT))
    assert answer.status_code == 200, answer.text


async def test_sqs_and_stomp_urls_with_credentials_are_422(running_api: RunningApi) -> None:
    client = running_api.client
    sqs = await client.post(
        "/v2/integrations",
        json=webhook_body(
            integration_type="aws_sqs",
            configuration={
                "url": f"https://key:{PASSWORD}@sqs.eu-west-1.amazonaws.com/1/q",
                "aws_access_key_id": "AKIAEXAMPLE",
                "aws_secret_access_key": "example-secret-access-key",
                "region": "eu-west-1",
            },
        ),
        headers=auth(**TENANT),
    )
    [problem] = _problems(sqs)
    assert problem["source"] == {"pointer": "/data/configuration/url"}
    assert "aws_access_key_id and aws_secret_access_key" in problem["detail"]
    stomp = await client.post(
        "/v2/integrations",
        json=webhook_body(
            integration_type="stomp",
            configuration={
                "addresses": ["stomp+ssl://broker.example.com:61614", f"stomp://u:{PASSWORD}@b:1"],
                "destination": "/queue/q",
            },
        ),
        headers=auth(**TENANT),
    )
    [problem] = _problems(stomp)
    assert problem["source"] == {"pointer": "/data/configuration/addresses/1"}
    assert "username and password" in problem["detail"]


async def test_update_to_a_url_with_credentials_is_422_and_changes_nothing(
    running_api: RunningApi,
) -> None:
    client = running_api.client
    data, path = await running_api.created_webhook_at(TENANT)
    update = update_body(configuration={"url": f"https://u:{PASSWORD}@receiver.example.com/"})
    [problem] = _problems(await client.put(path, json=update, headers=auth(**TENANT)))
    assert problem["source"] == {"pointer": "/data/configuration/url"}
    after = await client.get(path, headers=auth(**TENANT))
    assert after.json()["data"] == data


async def test_a_stored_url_with_credentials_is_shown_masked(running_api: RunningApi) -> None:
    """An integration stored before the rule: answers show `****@`, never the credentials."""
    client = running_api.client
    integration_id = (await running_api.created_webhook(TENANT))["id"]
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        running_api.settings.mongodb.uri.get_secret_value()
    )
    try:
        await mongo[running_api.settings.mongodb.database]["integrations"].update_one(
            {"_id": integration_id},
            {"$set": {"configuration.url": f"https://legacy:{PASSWORD}@receiver.example.com/h"}},
        )
    finally:
        await mongo.close()
    one = await client.get(f"/v2/integrations/{integration_id}", headers=auth(**TENANT))
    listed = await client.get("/v2/integrations", headers=auth(**TENANT))
    renamed = await client.put(
        f"/v2/integrations/{integration_id}",
        json=update_body(name="renamed"),
        headers=auth(**TENANT),
    )
    for answer in (one, listed, renamed):
        assert answer.status_code == 200
        assert PASSWORD not in answer.text
        assert "legacy" not in answer.text
    assert one.json()["data"]["configuration"]["url"] == "https://****@receiver.example.com/h"
