"""The queue sender's SSRF guard: STOMP broker addresses and the SQS endpoint override get the
same address policy as webhook URLs (the adversarial review reached loopback and the metadata
address through `stomp://127.0.0.1` and `tcp://169.254.169.254:80`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from integrations_common.delivery import DeliverySettings
from integrations_common.secret_box import EncryptionSettings, SecretBox, generate_key
from integrations_common.settings import SsrfSettings
from integrations_common.transports import Transport
from integrations_queue_sender.address_guard import check_endpoint, checked_addresses
from integrations_queue_sender.errors import BlockedAddressError, InvalidConfigurationError
from integrations_queue_sender.settings import QueueSenderSettings, SqsSettings, StompSettings
from integrations_queue_sender.stomp_transport import StompTransport
from integrations_queue_sender.worker import build_workers
from integrations_testkit.factories import (
    make_event,
    make_integration,
    make_job,
    stomp_configuration,
)

pytestmark = pytest.mark.integration

DEFAULT_POLICY = SsrfSettings().policy()
LOOPBACK_ALLOWED = SsrfSettings(allow_cidrs="127.0.0.0/8,::1/128").policy()


@pytest.fixture(scope="module")
def box() -> SecretBox:
    return SecretBox(EncryptionSettings(keys=SecretStr(generate_key())))


class CountingListener:
    """A real TCP listener on loopback that counts the connections it accepts."""

    def __init__(self) -> None:
        self.accepted = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        writer.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@pytest.fixture
async def listener() -> AsyncIterator[CountingListener]:
    server = CountingListener()
    await server.start()
    yield server
    await server.stop()


async def _deliver_to(box: SecretBox, address: str, transport: StompTransport) -> str | None:
    integration = make_integration(
        integration_type=Transport.STOMP,
        configuration=stomp_configuration(
            box, addresses=[address], destination="/queue/guarded", username="u", password="p"
        ),
    )
    try:
        [outcome] = await transport.deliver([make_job(make_event(), integration)])
    finally:
        await transport.aclose()
    assert not outcome.succeeded
    return outcome.error_detail


async def test_a_loopback_broker_is_refused_before_any_connection(
    box: SecretBox, listener: CountingListener
) -> None:
    transport = StompTransport(settings=StompSettings(connect_timeout_s=2), box=box)
    detail = await _deliver_to(box, f"stomp://127.0.0.1:{listener.port}", transport)
    assert detail is not None
    assert "Blocked by the SSRF guard" in detail
    assert "loopback" in detail
    assert listener.accepted == 0


async def test_the_metadata_address_is_refused_as_a_stomp_broker(box: SecretBox) -> None:
    transport = StompTransport(settings=StompSettings(connect_timeout_s=2), box=box)
    detail = await _deliver_to(box, "tcp://169.254.169.254:80", transport)
    assert detail is not None
    assert "cloud metadata" in detail


async def test_an_allowed_range_is_connected_to(box: SecretBox, listener: CountingListener) -> None:
    # The listener is no broker: the connect happens, then CONNECT gets no answer.
    transport = StompTransport(
        settings=StompSettings(connect_timeout_s=1), box=box, policy=LOOPBACK_ALLOWED
    )
    detail = await _deliver_to(box, f"stomp://127.0.0.1:{listener.port}", transport)
    assert detail is not None
    assert "SSRF" not in detail
    assert listener.accepted >= 1


@pytest.mark.parametrize(
    "host",
    ["localhost", "127.1", "0x7f000001", "::ffff:0:127.0.0.1", "::ffff:127.0.0.1", "::1"],
)
def test_names_and_spellings_of_loopback_are_refused(host: str) -> None:
    with pytest.raises(BlockedAddressError):
        checked_addresses(host, 61613, policy=DEFAULT_POLICY)


def test_a_name_resolves_once_and_the_checked_address_is_what_connects() -> None:
    calls: list[str] = []

    def resolve(host: str, port: int, **_: object) -> list[tuple[object, ...]]:
        calls.append(host)
        return [(None, None, None, "", ("127.0.0.1", port))]

    addresses = checked_addresses("broker.example", 61613, policy=LOOPBACK_ALLOWED, resolve=resolve)
    assert [str(a) for a in addresses] == ["127.0.0.1"]
    assert calls == ["broker.example"]
    with pytest.raises(BlockedAddressError, match=r"broker\.example resolves to 127\.0\.0\.1"):
        checked_addresses("broker.example", 61613, policy=DEFAULT_POLICY, resolve=resolve)


def test_an_sqs_endpoint_override_on_a_private_range_is_refused_at_start() -> None:
    settings = QueueSenderSettings(
        encryption=EncryptionSettings(keys=SecretStr(generate_key())),
        delivery=DeliverySettings(consumer_group="qs"),
        sqs=SqsSettings(endpoint_url="http://127.0.0.1:9324"),
    )
    with pytest.raises(InvalidConfigurationError, match="QUEUE_SENDER_SSRF__ALLOW_CIDRS"):
        build_workers(settings)
    with pytest.raises(BlockedAddressError, match="cloud metadata"):
        check_endpoint("http://169.254.169.254/latest", policy=DEFAULT_POLICY)
    allowed = settings.model_copy(update={"ssrf": SsrfSettings(allow_cidrs="127.0.0.0/8")})
    assert len(build_workers(allowed)) == 2
