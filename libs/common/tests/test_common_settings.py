"""Settings sections: normalisation and the errors they give for bad values."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from integrations_common.settings import (
    KafkaSettings,
    SaslMechanism,
    SecurityProtocol,
    TopicSettings,
    normalise_log_level,
)
from integrations_common.transports import Transport

pytestmark = pytest.mark.unit


def test_bootstrap_servers_are_normalised() -> None:
    settings = KafkaSettings(bootstrap_servers=" a:9092 ; b:9093,, c:9094 ")
    assert settings.bootstrap_servers == "a:9092,b:9093,c:9094"


@pytest.mark.parametrize("value", ["", " , ", "broker", "broker:port", ":9092"])
def test_bad_bootstrap_servers_are_rejected(value: str) -> None:
    with pytest.raises(ValidationError, match="bootstrap"):
        KafkaSettings(bootstrap_servers=value)


def test_protocol_and_mechanism_are_case_insensitive() -> None:
    settings = KafkaSettings.model_validate(
        {
            "security_protocol": "sasl_ssl",
            "sasl_mechanism": "scram-sha-512",
            "sasl_username": "svc",
            "sasl_password": "pw",
        }
    )
    assert settings.security_protocol is SecurityProtocol.SASL_SSL
    assert settings.sasl_mechanism is SaslMechanism.SCRAM_SHA_512
    assert "pw" not in repr(settings)


def test_sasl_without_credentials_is_rejected() -> None:
    with pytest.raises(ValidationError, match="needs sasl_mechanism"):
        KafkaSettings.model_validate({"security_protocol": "SASL_SSL"})


def test_topic_names_follow_the_contract() -> None:
    topics = TopicSettings()
    assert topics.deliveries(Transport.WEBHOOK) == "integrations.deliveries.webhook"
    assert topics.dead_letters(Transport.SQS) == "integrations.deliveries.sqs.dlq"


@pytest.mark.parametrize(
    ("raw", "level"), [("info", "INFO"), (" Debug ", "DEBUG"), (30, "WARNING")]
)
def test_log_levels_are_normalised(raw: object, level: str) -> None:
    assert normalise_log_level(raw) == level


def test_unknown_log_level_is_rejected() -> None:
    with pytest.raises(ValueError, match="log level"):
        normalise_log_level("verbose")
