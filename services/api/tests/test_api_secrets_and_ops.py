"""Secrets never leave in plain text; the ops endpoints and the OpenAPI document."""

from __future__ import annotations

import logging

import pytest

from integrations_api.openapi import SPEC_SCHEMAS
from integrations_common.log_config import JsonFormatter

from .conftest import RunningApi, auth, update_body, webhook_body

pytestmark = pytest.mark.integration

TENANT = {"store_id": "store-secrets-1", "org_id": "org-secrets-1"}
SECRETS = {
    "secret_key": "plain-webhook-secret-value-0001",
    "aws_access_key_id": "AKIAPLAINACCESSKEY0002",
    "aws_secret_access_key": "plain-aws-secret-access-key-0003",
    "password": "plain-stomp-password-0004",
}


async def test_secrets_never_in_responses_or_logs(
    running_api: RunningApi, caplog: pytest.LogCaptureFixture
) -> None:
    client = running_api.client
    answers = []
    with caplog.at_level(logging.DEBUG):
        created = await client.post(
            "/v2/integrations",
            json=webhook_body(
                configuration={"url": "https://x.test/h", "secret_key": SECRETS["secret_key"]}
            ),
            headers=auth(**TENANT),
        )
        answers.append(created)
        path = f"/v2/integrations/{created.json()['data']['id']}"
        sqs = {
            "url": "https://sqs.test/q",
            "aws_access_key_id": SECRETS["aws_access_key_id"],
            "aws_secret_access_key": SECRETS["aws_secret_access_key"],
            "region": "eu-west-1",
        }
        stomp = {
            "addresses": ["stomp://127.0.0.1:61613"],
            "destination": "/queue/q",
            "password": SECRETS["password"],
        }
        for integration_type, configuration in (("aws_sqs", sqs), ("stomp", stomp)):
            body = update_body(integration_type=integration_type, configuration=configuration)
            answers.append(await client.put(path, json=body, headers=auth(**TENANT)))
        answers.append(await client.get(path, headers=auth(**TENANT)))
        answers.append(await client.get("/v2/integrations", headers=auth(**TENANT)))
        # An invalid request that echoes a secret must not echo it back either.
        answers.append(
            await client.post(
                "/v2/integrations",
                json=webhook_body(
                    configuration={"url": "bad", "secret_key": SECRETS["secret_key"]}
                ),
                headers=auth(**TENANT),
            )
        )
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 200, 422]
    formatter = JsonFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    for secret in SECRETS.values():
        for answer in answers:
            assert secret not in answer.text
        for line in lines:
            assert secret not in line


async def test_ops_endpoints(running_api: RunningApi) -> None:
    client = running_api.client
    assert (await client.get("/healthz")).json()["status"] == "ok"
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    await client.get("/v2/integrations", headers=auth(**TENANT))
    metrics = (await client.get("/metrics")).text
    assert (
        'integrations_api_requests_total{method="GET",route="/v2/integrations",status="200"}'
        in metrics
    )
    assert "integrations_api_request_duration_seconds_bucket" in metrics


async def test_openapi_matches_the_spec_operations(running_api: RunningApi) -> None:
    document = (await running_api.client.get("/v2/openapi.json")).json()
    operations = {
        (path, method): op["operationId"]
        for path, item in document["paths"].items()
        for method, op in item.items()
    }
    assert operations == {
        ("/integrations", "get"): "ListIntegrations",
        ("/integrations", "post"): "CreateIntegration",
        ("/integrations/{integration_uuid}", "get"): "GetIntegration",
        ("/integrations/{integration_uuid}", "put"): "UpdateIntegration",
        ("/integrations/{integration_uuid}", "delete"): "DeleteIntegration",
        ("/integrations/logs", "get"): "ListStoreLogs",
        ("/integrations/{integration_uuid}/logs", "get"): "ListIntegrationLogs",
        ("/integrations/{integration_uuid}/jobs", "get"): "ListIntegrationJobs",
        ("/integrations/{integration_uuid}/jobs/{job_uuid}/replay", "post"): (
            "ReplayIntegrationJob"
        ),
        ("/integrations/{integration_uuid}/recover", "post"): "RecoverIntegrationJobs",
        ("/integrations/{integration_uuid}/jobs/{job_uuid}/logs", "get"): "ListJobLogs",
    }
    assert document["servers"] == [{"url": "/v2"}]
    schemas = document["components"]["schemas"]
    for name in SPEC_SCHEMAS:
        assert name in schemas, name
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    docs = await running_api.client.get("/v2/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
