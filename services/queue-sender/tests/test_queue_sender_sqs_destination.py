"""Validating an SQS integration's configuration and choosing its endpoint."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from integrations_common.integrations import IntegrationSnapshot
from integrations_common.secret_box import EncryptionSettings, SecretBox, generate_key
from integrations_common.transports import Transport
from integrations_queue_sender.destinations import DestinationRegistry
from integrations_queue_sender.errors import InvalidConfigurationError
from integrations_queue_sender.sqs_destination import SqsDestination, resolve_sqs_destination
from integrations_testkit.factories import make_integration, sqs_configuration

pytestmark = pytest.mark.unit

AWS_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders"


@pytest.fixture(scope="module")
def box() -> SecretBox:
    return SecretBox(EncryptionSettings(keys=SecretStr(generate_key())))


def _resolve(box: SecretBox, override: str | None = None, **config: object) -> SqsDestination:
    configuration = {**sqs_configuration(box, url=AWS_URL, region="eu-west-1"), **config}
    integration = make_integration(integration_type=Transport.SQS, configuration=configuration)
    return resolve_sqs_destination(integration, box=box, endpoint_override=override)


def test_production_endpoint_follows_from_the_queue_url(box: SecretBox) -> None:
    destination = _resolve(box)
    assert destination.endpoint_url == "https://sqs.eu-west-1.amazonaws.com"
    assert destination.access_key_id == "AKIAEXAMPLEEXAMPLE01"
    assert destination.secret_access_key == "example-secret"
    assert not destination.fifo
    assert "example-secret" not in repr(destination)


def test_override_sends_everything_to_the_local_endpoint(box: SecretBox) -> None:
    destination = _resolve(
        box, "http://127.0.0.1:9324/", url="http://localhost:9324/000000000000/q.fifo"
    )
    assert destination.endpoint_url == "http://127.0.0.1:9324"
    assert destination.fifo


@pytest.mark.parametrize(
    ("config", "detail"),
    [
        ({"url": ""}, "configuration.url is missing or empty"),
        ({"region": None}, "configuration.region is missing or empty"),
        ({"url": "https://evil.example/1/q"}, "is not an AWS SQS queue URL"),
        ({"url": "http://sqs.eu-west-1.amazonaws.com/1/q"}, "is not an AWS SQS queue URL"),
        ({"url": "ftp://x/1/q"}, "is not an SQS queue URL"),
        ({"region": "Mars"}, "configuration.region 'Mars' is not an AWS region"),
        ({"aws_secret_access_key": "not-ciphertext"}, "cannot be decrypted"),
    ],
)
def test_unusable_configuration_says_exactly_why(
    box: SecretBox, config: dict[str, object], detail: str
) -> None:
    with pytest.raises(InvalidConfigurationError, match=detail):
        _resolve(box, None, **config)


def test_client_key_changes_with_the_secret_but_never_holds_it(box: SecretBox) -> None:
    first = _resolve(box)
    second = _resolve(box, aws_secret_access_key=box.encrypt("rotated"))
    assert first.client_key != second.client_key
    assert "example-secret" not in "".join(first.client_key)


def test_registry_keeps_the_newest_version_and_reports_replacements(box: SecretBox) -> None:
    replaced: list[SqsDestination] = []
    registry: DestinationRegistry[SqsDestination] = DestinationRegistry(
        lambda i: resolve_sqs_destination(i, box=box, endpoint_override=None),
        on_replace=replaced.append,
    )

    def snapshot(version: int, url: str) -> IntegrationSnapshot:
        return make_integration(
            integration_type=Transport.SQS,
            configuration=sqs_configuration(box, url=url, region="eu-west-1"),
            integration_id="int-1",
            version=version,
        )

    v1 = snapshot(1, AWS_URL)
    v2 = snapshot(2, AWS_URL + "-v2")
    assert registry.get(v1).queue_url == AWS_URL
    assert registry.get(v2).queue_url == AWS_URL + "-v2"
    assert registry.get(v1).queue_url == AWS_URL + "-v2"
    assert [d.queue_url for d in replaced] == [AWS_URL]
    broken = snapshot(3, "")
    with pytest.raises(InvalidConfigurationError):
        registry.get(broken)
