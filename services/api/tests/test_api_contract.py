"""Every answer is documented in the served OpenAPI, and its body validates against the schema."""

from __future__ import annotations

from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from .conftest import RunningApi, auth, update_body, webhook_body

pytestmark = pytest.mark.integration

TENANT = {"store_id": "store-contract-1", "org_id": "org-contract-1"}


def _check(document: dict[str, Any], template: str, method: str, answer: Any) -> None:
    operation = document["paths"][template][method]
    status = str(answer.status_code)
    assert status in operation["responses"], f"{method} {template} answered undocumented {status}"
    content = operation["responses"][status].get("content")
    if content is None:
        assert answer.content == b""
        return
    schema = {**content["application/json"]["schema"], "components": document["components"]}
    jsonschema.validate(answer.json(), schema, cls=jsonschema.Draft202012Validator)


async def test_answers_match_the_served_openapi(running_api: RunningApi) -> None:
    client = running_api.client
    document = (await client.get("/v2/openapi.json")).json()
    headers = auth(**TENANT)
    created = await client.post("/v2/integrations", json=webhook_body(), headers=headers)
    item = f"/v2/integrations/{created.json()['data']['id']}"
    sqs = webhook_body(
        integration_type="aws_sqs",
        configuration={
            "url": "https://sqs.test/q",
            "aws_access_key_id": "AKIAEXAMPLEEXAMPLE",
            "aws_secret_access_key": "secret-secret-secret",
            "region": "eu-west-1",
        },
    )
    stomp = webhook_body(
        integration_type="stomp",
        configuration={"addresses": ["stomp://127.0.0.1:61613"], "destination": "/queue/q"},
    )
    calls: list[tuple[str, str, Any]] = [
        ("/integrations", "post", created),
        ("/integrations", "post", await client.post("/v2/integrations", json=sqs, headers=headers)),
        (
            "/integrations",
            "post",
            await client.post("/v2/integrations", json=stomp, headers=headers),
        ),
        ("/integrations", "post", await client.post("/v2/integrations", json={}, headers=headers)),
        ("/integrations", "post", await client.post("/v2/integrations", json=webhook_body())),
        ("/integrations", "get", await client.get("/v2/integrations", headers=headers)),
        (
            "/integrations",
            "get",
            await client.get("/v2/integrations?page[limit]=1&page[offset]=1", headers=headers),
        ),
        (
            "/integrations",
            "get",
            await client.get("/v2/integrations?page[limit]=0", headers=headers),
        ),
        ("/integrations/{integration_uuid}", "get", await client.get(item, headers=headers)),
        ("/integrations/{integration_uuid}", "get", await client.get(item + "x", headers=headers)),
        (
            "/integrations/{integration_uuid}",
            "put",
            await client.put(item, json=update_body(), headers=headers),
        ),
        (
            "/integrations/{integration_uuid}",
            "put",
            await client.put(item, json={"data": {"type": "x"}}, headers=headers),
        ),
        ("/integrations/logs", "get", await client.get("/v2/integrations/logs", headers=headers)),
        (
            "/integrations/{integration_uuid}/logs",
            "get",
            await client.get(f"{item}/logs", headers=headers),
        ),
        (
            "/integrations/{integration_uuid}/jobs",
            "get",
            await client.get(f"{item}/jobs", headers=headers),
        ),
        (
            "/integrations/{integration_uuid}/jobs/{job_uuid}/logs",
            "get",
            await client.get(f"{item}/jobs/nope/logs", headers=headers),
        ),
        ("/integrations/{integration_uuid}", "delete", await client.delete(item, headers=headers)),
        ("/integrations/{integration_uuid}", "delete", await client.delete(item, headers=headers)),
    ]
    for template, method, answer in calls:
        _check(document, template, method, answer)
