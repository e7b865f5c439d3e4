"""Schemathesis against the served OpenAPI of the running API: no 5xx, no schema violations.

The API listens on a real port (uvicorn in a thread with its own event loop) over real Kafka
and FerretDB. Every operation gets seeded, derandomized positive and negative requests with all
of schemathesis' checks (server errors, status codes, content types, response schemas, negative
data rejection, auth), plus requests on an existing integration and job, and valid creates, so
every operation is seen answering 200 and validated. Negative headers are sent as generated
(so a broken `Authorization` must answer 401); otherwise a valid bearer token is used.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.strategies import SearchStrategy
from pymongo import MongoClient

from integrations_api.settings import ApiSettings
from integrations_common.events import CommerceEvent
from integrations_common.store.log_documents import (
    JOBS_COLLECTION,
    LOGS_COLLECTION,
    job_updates,
    log_document,
)
from integrations_testkit.factories import make_attempt_log

from .conftest import ServedApi, auth, webhook_body

pytestmark = pytest.mark.integration

TENANT = {"store_id": "store-schemathesis-1", "org_id": "org-schemathesis-1"}


@pytest.fixture(scope="module")
def served_api(kafka_bootstrap_servers: str, mongodb_uri: str) -> Iterator[ServedApi]:
    """The API, really listening on a port, on this module's topics and database."""
    with ServedApi(kafka=kafka_bootstrap_servers, mongodb=mongodb_uri) as api:
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


def _seed_logs(settings: ApiSettings, integration_id: str) -> str:
    """Two attempts of one job of the integration, as the log writer stores them; the job id."""
    logs = [
        make_attempt_log(
            integration_id, "event-schemathesis-1", number, ok=number == 2, tenant=TENANT
        )
        for number in (1, 2)
    ]
    event = CommerceEvent(
        id="event-schemathesis-1",
        source="urn:test",
        type="order.paid",
        time=logs[0].event_time,
        orgid=TENANT["org_id"],
        storeid=TENANT["store_id"],
        data={"data": {"type": "order", "id": "o-1"}},
    )
    logs[0] = logs[0].model_copy(update={"event": event})  # kept for replays
    client: MongoClient[dict[str, Any]] = MongoClient(
        settings.mongodb.uri.get_secret_value(), tz_aware=True
    )
    try:
        database = client[settings.mongodb.database]
        database[LOGS_COLLECTION].insert_many([log_document(log) for log in logs])
        database[JOBS_COLLECTION].bulk_write(job_updates(logs))
    finally:
        client.close()
    return logs[0].job_id


def _strategies(operation: Any, existing: dict[str, str]) -> list[tuple[str, SearchStrategy[Any]]]:
    """Generated requests of both modes, plus requests that reach existing resources."""
    strategies = [(mode.value, operation.as_strategy(mode)) for mode in MODES]
    names = [p.name for p in operation.path_parameters]
    if names:
        key = "deleted_id" if operation.method.lower() == "delete" else "integration_uuid"
        fixed = {name: existing[key if name == "integration_uuid" else name] for name in names}
        strategies.append(("existing", operation.as_strategy(path_parameters=fixed)))
    if operation.method.lower() == "post" and operation.path == "/integrations":
        strategies.extend(
            (f"valid-{i}", operation.as_strategy(body=body)) for i, body in enumerate(VALID_BODIES)
        )
    if operation.path.endswith("/recover"):
        window = {"since": "2026-01-01T00:00:00Z"}
        fixed = {"integration_uuid": existing["integration_uuid"]}
        strategies.append(
            ("valid-window", operation.as_strategy(body=window, path_parameters=fixed))
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
    kept_id = _create(base_url, headers)
    existing = {
        "integration_uuid": kept_id,
        "deleted_id": _create(base_url, headers),
        "job_uuid": _seed_logs(served_api.settings, kept_id),
    }
    failures: list[str] = []
    answered: Counter[tuple[str, int]] = Counter()
    operations = [result.ok() for result in api_schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) == 11  # the spec's 9 and the replay extensions
    for operation in operations:
        for label, strategy in _strategies(operation, existing):

            @EXAMPLES
            @given(case=strategy)
            def run(case: schemathesis.Case[Any]) -> None:
                _authenticate(case, headers)
                response = case.call_and_validate(base_url=base_url)
                answered[case.operation.label, response.status_code] += 1

            try:
                run()
            except (AssertionError, schemathesis.errors.FailureGroup) as exc:
                failures.append(f"{operation.label} [{label}]: {exc}")
    assert not failures, "\n\n".join(failures)
    assert not [key for key in answered if key[1] >= 500]
    for operation in operations:
        statuses = {status for label, status in answered if label == operation.label}
        accepted = 202 if operation.path.endswith(("/replay", "/recover")) else 200
        assert {accepted, 401} <= statuses, (operation.label, statuses)
    assert {404, 422} <= {status for _, status in answered}


CLI_CONFIG = """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "404", "409", "422"]
"""


def test_schemathesis_cli_all_phases(served_api: ServedApi, tmp_path: Path) -> None:
    """`schemathesis run` as a user would: examples, coverage, fuzzing and stateful, all checks."""
    config = tmp_path / "schemathesis.toml"
    config.write_text(CLI_CONFIG)
    token = auth(**TENANT)["Authorization"]
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),
        "run",
        f"{served_api.base_url}/v2/openapi.json",
        "--url",
        f"{served_api.base_url}/v2",
        "--header",
        f"Authorization: {token}",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--checks",
        "all",
        "--max-examples",
        "20",
        "--seed",
        "20261128",
        "--generation-deterministic",
        "--no-color",
    ]
    result = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    assert "11 selected / 11 total" in result.stdout
