"""The queue sender's settings and how they shape its workers."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from integrations_common.delivery import DeliverySettings
from integrations_common.secret_box import EncryptionSettings, generate_key
from integrations_common.transports import Transport
from integrations_queue_sender.limits import KeyedLimiter
from integrations_queue_sender.settings import QueueSenderSettings, SqsSettings
from integrations_queue_sender.worker import build_workers

pytestmark = pytest.mark.unit


def test_environment_configures_encryption_endpoint_and_transports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = generate_key()
    monkeypatch.setenv("QUEUE_SENDER_ENCRYPTION__KEYS", key)
    monkeypatch.setenv("QUEUE_SENDER_SQS__ENDPOINT_URL", "http://127.0.0.1:9324")
    monkeypatch.setenv("QUEUE_SENDER_STOMP__RECEIPT_TIMEOUT_S", "3")
    monkeypatch.setenv("QUEUE_SENDER_TRANSPORTS", '["stomp", "stomp"]')
    settings = QueueSenderSettings()
    assert settings.encryption.keys.get_secret_value() == key
    assert settings.sqs.endpoint_url == "http://127.0.0.1:9324"
    assert settings.stomp.receipt_timeout_s == 3
    assert settings.transports == [Transport.STOMP]


def test_blank_endpoint_means_production() -> None:
    assert SqsSettings(endpoint_url="  ").endpoint_url is None


def test_webhooks_are_not_the_queue_senders_job() -> None:
    with pytest.raises(ValidationError, match="sqs and stomp only"):
        QueueSenderSettings(transports=[Transport.WEBHOOK])


def test_each_transport_gets_its_own_worker_and_consumer_group() -> None:
    settings = QueueSenderSettings(
        encryption=EncryptionSettings(keys=SecretStr(generate_key())),
        delivery=DeliverySettings(consumer_group="qs"),
    )
    workers = build_workers(settings)
    assert [w.topics[0] for w in workers] == [
        "integrations.deliveries.sqs",
        "integrations.deliveries.stomp",
    ]
    assert [w._group for w in workers] == ["qs-sqs", "qs-stomp"]


async def test_keyed_limiter_bounds_each_key_and_forgets_idle_keys() -> None:
    limiter = KeyedLimiter(1)
    async with limiter.hold("a"), limiter.hold("b"):
        assert len(limiter) == 2
    assert len(limiter) == 0
    with pytest.raises(ValueError, match="at least 1"):
        KeyedLimiter(0)
