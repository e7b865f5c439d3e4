"""Validating a STOMP integration's configuration: addresses, TLS, login."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from integrations_common.secret_box import EncryptionSettings, SecretBox, generate_key
from integrations_common.transports import Transport
from integrations_queue_sender.errors import InvalidConfigurationError
from integrations_queue_sender.stomp_destination import (
    StompAddress,
    StompDestination,
    parse_address,
    resolve_stomp_destination,
)
from integrations_testkit.factories import make_integration, stomp_configuration

pytestmark = pytest.mark.unit

AMAZON_MQ = [
    "stomp+ssl://b-1.mq.us-west-2.amazonaws.com:61614",
    "stomp+ssl://b-2.mq.us-west-2.amazonaws.com:61614",
]


@pytest.fixture(scope="module")
def box() -> SecretBox:
    return SecretBox(EncryptionSettings(keys=SecretStr(generate_key())))


def _resolve(box: SecretBox, **configuration: object) -> StompDestination:
    base = stomp_configuration(
        box, addresses=AMAZON_MQ, destination="/queue/orders", username="u", password="p"
    )
    integration = make_integration(
        integration_type=Transport.STOMP, configuration={**base, **configuration}
    )
    return resolve_stomp_destination(integration, box=box)


def test_failover_list_keeps_its_order_and_tls(box: SecretBox) -> None:
    destination = _resolve(box)
    assert destination.addresses == (
        StompAddress("b-1.mq.us-west-2.amazonaws.com", 61614, tls=True),
        StompAddress("b-2.mq.us-west-2.amazonaws.com", 61614, tls=True),
    )
    assert destination.login == "u"
    assert destination.passcode == "p"
    assert "'p'" not in repr(destination)


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("stomp://h:1234", StompAddress("h", 1234, tls=False)),
        ("stomp://h", StompAddress("h", 61613, tls=False)),
        ("stomp+ssl://h", StompAddress("h", 61614, tls=True)),
        ("ssl://h:1", StompAddress("h", 1, tls=True)),
    ],
)
def test_addresses_parse(text: str, address: StompAddress) -> None:
    assert parse_address(text) == address


def test_a_single_url_stands_for_the_list(box: SecretBox) -> None:
    destination = _resolve(box, addresses=None, url="stomp://broker:61613")
    assert destination.addresses == (StompAddress("broker", 61613, tls=False),)


def test_no_login_is_allowed(box: SecretBox) -> None:
    destination = _resolve(box, username=None, password=None)
    assert destination.login is None
    assert destination.passcode is None


@pytest.mark.parametrize(
    ("configuration", "detail"),
    [
        ({"destination": ""}, "configuration.destination is missing or empty"),
        ({"addresses": []}, "configuration.addresses must list at least one address"),
        ({"addresses": "stomp://h"}, "configuration.addresses must list at least one address"),
        ({"addresses": ["http://h"]}, "must start with stomp:// or stomp\\+ssl://"),
        ({"addresses": ["stomp://h:notaport"]}, "has an invalid port"),
        ({"addresses": ["stomp://:1"]}, "names no host"),
        ({"password": "not-ciphertext"}, "configuration.password cannot be decrypted"),
    ],
)
def test_unusable_configuration_says_exactly_why(
    box: SecretBox, configuration: dict[str, object], detail: str
) -> None:
    with pytest.raises(InvalidConfigurationError, match=detail):
        _resolve(box, **configuration)
