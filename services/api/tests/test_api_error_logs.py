"""On the 500 path no secret reaches any log line, uvicorn's and Starlette's included."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from integrations_api.integrations import service
from integrations_common.log_config import JsonFormatter

from .conftest import ServedApi, auth, webhook_body

pytestmark = pytest.mark.integration

TENANT = {"store_id": "store-errors-1", "org_id": "org-errors-1"}
SECRET = "top-secret-signing-key-4711"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every record any logger emits, formatted as the services format them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _failing_seal(**kwargs: Any) -> Any:
    raise RuntimeError(f"cannot seal {kwargs['configuration']}")


async def test_unexpected_error_logs_no_secret(
    kafka_bootstrap_servers: str,
    mongodb_uri: str,
    log_lines: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service, "seal", _failing_seal)
    body = webhook_body(configuration={"url": "https://example.com/h", "secret_key": SECRET})
    with ServedApi(kafka=kafka_bootstrap_servers, mongodb=mongodb_uri) as api:
        async with httpx.AsyncClient(base_url=api.base_url) as client:
            answer = await client.post("/v2/integrations", json=body, headers=auth(**TENANT))
    assert answer.status_code == 500
    assert answer.json() == {
        "errors": [
            {
                "status": 500,
                "title": "Internal Server Error",
                "detail": "An internal error has occurred.",
            }
        ]
    }
    logged = log_lines.getvalue()
    assert "unhandled error" in logged
    assert "RuntimeError" in logged
    assert [line[:160] for line in logged.splitlines() if SECRET in line] == []
    assert SECRET[-4:] in body["data"]["configuration"]["secret_key"]
