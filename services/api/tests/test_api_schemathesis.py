"""Schemathesis against the served OpenAPI of the running API: no 5xx, no schema violations."""

from __future__ import annotations

import asyncio
import os
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.strategies import SearchStrategy

from integrations_api.app import create_app

from .conftest import (
    api_settings,
    auth,
    drop_database,
    drop_topics,
    unique_topics,
    webhook_body,
)

pytestmark = pytest.mark.integration

TENANT = {"store_id": "store-schemathesis-1", "org_id": "org-schemathesis-1"}


class ServedApi:
    """The API served by uvicorn on an ephemeral port, in a thread with its own event loop."""

    def __init__(self, *, kafka: str, mongodb: str) -> None:
        self.topics = unique_topics()
        self.settings = api_settings(kafka, mongodb, self.topics)
        self.kafka = kafka
        config = uvicorn.Config(
            create_app(self.settings),
            host="127.0.0.1",
            port=0,
            log_config=None,
            access_log=False,
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name="served-api", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            try:
                await self.server.serve()
            finally:
                await drop_database(self.settings)
                await drop_topics(self.kafka, self.topics)

        asyncio.run(main())

    @property
    def base_url(self) -> str:
        """Where the API answers."""
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __enter__(self) -> ServedApi:
        self.thread.start()
        for _ in range(600):
            if self.server.started or not self.thread.is_alive():
                break
            threading.Event().wait(0.05)
        if not self.server.started:
            raise RuntimeError("the API did not start")
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture(scope="module")
def served_api() -> Iterator[ServedApi]:
    """The API, really listening on a port, on this module's topics and database."""
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    mongodb = os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27017")
    with ServedApi(kafka=kafka, mongodb=mongodb) as api:
        yield api


CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            # Schema-valid data may still be refused with 422 for what a JSON schema cannot say:
            # the observable-event catalogue, `integration_type` <-> `configuration`, URL schemes,
            # unstorable text. Anything else (400, 413, 5xx) for valid data still fails.
            "positive_data_acceptance": {"expected-statuses": ["2xx", "401", "404", "409", "422"]}
        }
    }
)


@pytest.fixture(scope="module")
def api_schema(served_api: ServedApi) -> schemathesis.BaseSchema:
    """The OpenAPI document the API serves."""
    return schemathesis.openapi.from_url(f"{served_api.base_url}/v2/openapi.json", config=CONFIG)


MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
EXAMPLES = settings(
    max_examples=50,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
)
VALID_BODIES = (
    webhook_body(),
    webhook_body(
        integration_type="aws_sqs",
        configuration={
            "url": "https://sqs.eu-west-1.amazonaws.com/123456789/q",
            "aws_access_key_id": "AKIAEXAMPLEEXAMPLE",
            "aws_secret_access_key": "secret-secret-secret",
            "region": "eu-west-1",
        },
    ),
    webhook_body(
        integration_type="stomp",
        configuration={"addresses": ["stomp://127.0.0.1:61613"], "destination": "/queue/q"},
    ),
)


def _create(base_url: str, headers: dict[str, str]) -> str:
    answer = httpx.post(f"{base_url}/integrations", json=webhook_body(), headers=headers)
    answer.raise_for_status()
    identifier: str = answer.json()["data"]["id"]
    return identifier


def _strategies(
    operation: Any, kept_id: str, deleted_id: str
) -> list[tuple[str, SearchStrategy[Any]]]:
    """Generated requests of both modes, plus requests that reach existing resources."""
    strategies = [(mode.value, operation.as_strategy(mode)) for mode in MODES]
    if "integration_uuid" in operation.path:
        target = deleted_id if operation.method.lower() == "delete" else kept_id
        strategies.append(
            ("existing", operation.as_strategy(path_parameters={"integration_uuid": target}))
        )
    if operation.method.lower() == "post":
        strategies.extend(
            (f"valid-{i}", operation.as_strategy(body=body)) for i, body in enumerate(VALID_BODIES)
        )
    return strategies


def _authenticate(case: schemathesis.Case[Any], headers: dict[str, str]) -> None:
    """A valid token, unless the headers are the part this case makes invalid (then: 401)."""
    header = next(
        (c for loc, c in (case.meta.components.items() if case.meta else ()) if loc == "header"),
        None,
    )
    if header is None or header.mode.is_positive:
        case.headers.update(headers)


def test_api_conforms_to_its_openapi(
    served_api: ServedApi, api_schema: schemathesis.BaseSchema
) -> None:
    base_url = f"{served_api.base_url}/v2"
    headers = auth(**TENANT)
    kept_id, deleted_id = _create(base_url, headers), _create(base_url, headers)
    failures: list[str] = []
    answered: Counter[int] = Counter()
    operations = [result.ok() for result in api_schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) == 9
    for operation in operations:
        for label, strategy in _strategies(operation, kept_id, deleted_id):

            @EXAMPLES
            @given(case=strategy)
            def run(case: schemathesis.Case[Any]) -> None:
                _authenticate(case, headers)
                response = case.call_and_validate(base_url=base_url)
                answered[response.status_code] += 1

            try:
                run()
            except (AssertionError, schemathesis.errors.FailureGroup) as exc:
                failures.append(f"{operation.label} [{label}]: {exc}")
    assert not failures, "\n\n".join(failures)
    assert not [status for status in answered if status >= 500]
    assert {200, 401, 404, 422} <= set(answered), answered
