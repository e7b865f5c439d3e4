"""The STOMP transport against a real ActiveMQ (and small local proxies to break it)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from functools import partial
from pathlib import Path

import pytest
from pydantic import SecretStr

from conftest import StompEndpoint
from integrations_common.integrations import IntegrationSnapshot
from integrations_common.secret_box import EncryptionSettings, SecretBox, generate_key
from integrations_common.settings import SsrfSettings
from integrations_queue_sender.message import message_document
from integrations_queue_sender.settings import StompSettings
from integrations_queue_sender.stomp_transport import StompTransport
from integrations_testkit.factories import (
    make_event,
    make_job,
    stomp_integration,
)
from integrations_testkit.network import TcpProxy, closed_port, self_signed_tls
from integrations_testkit.stomp_subscriber import StompSubscriber

pytestmark = pytest.mark.integration

# The local broker listens on loopback, which the SSRF guard blocks unless allowed.
LOOPBACK = SsrfSettings(allow_cidrs="127.0.0.0/8,::1/128").policy()
TEST_SETTINGS = StompSettings(connect_timeout_s=2, receipt_timeout_s=5, reconnect_backoff_s=0)


@pytest.fixture(scope="module")
def box() -> SecretBox:
    return SecretBox(EncryptionSettings(keys=SecretStr(generate_key())))


@pytest.fixture
def integration_for(
    box: SecretBox, stomp_endpoint: StompEndpoint, destination: str
) -> Callable[..., IntegrationSnapshot]:
    """`stomp_integration` for this test's destination on the local broker (addresses and
    password may be given)."""
    return partial(stomp_integration, box, stomp_endpoint, destination)


@pytest.fixture
async def transport(box: SecretBox) -> AsyncIterator[StompTransport]:
    stomp_transport = StompTransport(policy=LOOPBACK, settings=TEST_SETTINGS, box=box)
    yield stomp_transport
    await stomp_transport.aclose()


async def test_message_arrives_with_exactly_the_cloudevent_and_headers(
    transport: StompTransport,
    subscriber: StompSubscriber,
    integration_for: Callable[..., IntegrationSnapshot],
) -> None:
    integration = integration_for()
    jobs = [make_job(make_event(), integration) for _ in range(3)]

    outcomes = await transport.deliver(jobs)

    assert all(o.succeeded for o in outcomes), [o.error_detail for o in outcomes]
    assert all(o.started_at and o.finished_at and o.started_at <= o.finished_at for o in outcomes)
    frames = await asyncio.to_thread(subscriber.wait_for, 3)
    assert sorted(json.loads(f.body)["id"] for f in frames) == sorted(j.event.id for j in jobs)
    by_id = {j.event.id: j for j in jobs}
    for frame in frames:
        document = json.loads(frame.body)
        assert document == message_document(by_id[document["id"]])
        assert frame.headers["persistent"] == "true"
        assert frame.headers["content-type"] == "application/cloudevents+json"
    assert transport.open_connections == 1


async def test_failover_to_the_second_address(
    transport: StompTransport,
    stomp_endpoint: StompEndpoint,
    subscriber: StompSubscriber,
    integration_for: Callable[..., IntegrationSnapshot],
) -> None:
    second = f"stomp://{stomp_endpoint.host}:{stomp_endpoint.port}"
    addresses = [f"stomp://127.0.0.1:{closed_port()}", second]
    job = make_job(make_event(), integration_for(addresses=addresses))

    [outcome] = await transport.deliver([job])

    assert outcome.succeeded, outcome.error_detail
    assert json.loads(outcome.body)["broker"] == second
    frames = await asyncio.to_thread(subscriber.wait_for, 1)
    assert json.loads(frames[0].body)["id"] == job.event.id


async def test_wrong_password_is_refused_with_the_brokers_reason(
    transport: StompTransport,
    stomp_endpoint: StompEndpoint,
    integration_for: Callable[..., IntegrationSnapshot],
) -> None:
    integration = integration_for(password="wrong-password")

    [outcome] = await transport.deliver([make_job(make_event(), integration)])

    assert not outcome.succeeded
    assert (
        outcome.give_up
    )  # a refused login is permanent: dead-lettered at once, replayed once fixed
    broker = f"stomp://{stomp_endpoint.host}:{stomp_endpoint.port}"
    assert outcome.error_detail is not None
    assert outcome.error_detail.startswith(f"the STOMP broker at {broker} refused the connection: ")
    assert "wrong-password" not in outcome.error_detail


async def test_no_reachable_address_fails_fast_during_the_backoff(
    box: SecretBox, stomp_endpoint: StompEndpoint, destination: str
) -> None:
    settings = StompSettings(connect_timeout_s=2, receipt_timeout_s=5, reconnect_backoff_s=60)
    stomp_transport = StompTransport(policy=LOOPBACK, settings=settings, box=box)
    addresses = [f"stomp://127.0.0.1:{closed_port()}", f"stomp+ssl://127.0.0.1:{closed_port()}"]
    integration = stomp_integration(box, stomp_endpoint, destination, addresses=addresses)
    try:
        [first] = await stomp_transport.deliver([make_job(make_event(), integration)])
        [second] = await stomp_transport.deliver([make_job(make_event(), integration)])
    finally:
        await stomp_transport.aclose()
    expected = f"could not connect to any STOMP address ({', '.join(addresses)})"
    assert first.error_detail == expected
    assert second.error_detail == expected


async def test_a_silent_broker_does_not_hold_up_another_integration(
    box: SecretBox, stomp_endpoint: StompEndpoint, destination: str, subscriber: StompSubscriber
) -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def swallow(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    silent = await asyncio.start_server(swallow, "127.0.0.1", 0)
    silent_port = silent.sockets[0].getsockname()[1]
    settings = StompSettings(connect_timeout_s=1, receipt_timeout_s=5, reconnect_backoff_s=0)
    stomp_transport = StompTransport(policy=LOOPBACK, settings=settings, box=box)
    dead = stomp_integration(
        box, stomp_endpoint, destination, addresses=[f"stomp://127.0.0.1:{silent_port}"]
    )
    live = stomp_integration(box, stomp_endpoint, destination)
    try:
        outcomes = await stomp_transport.deliver(
            [make_job(make_event(), dead), make_job(make_event(), live)]
        )
    finally:
        await stomp_transport.aclose()
        for writer in accepted:
            writer.close()
        silent.close()
    assert outcomes[0].error_detail == (
        f"the STOMP broker at stomp://127.0.0.1:{silent_port} did not answer CONNECT within 1s"
    )
    assert outcomes[1].succeeded, outcomes[1].error_detail
    assert len(await asyncio.to_thread(subscriber.wait_for, 1)) == 1


async def test_a_broker_that_goes_away_and_comes_back_gets_the_retried_message(
    transport: StompTransport,
    stomp_endpoint: StompEndpoint,
    subscriber: StompSubscriber,
    integration_for: Callable[..., IntegrationSnapshot],
) -> None:
    proxy = TcpProxy(stomp_endpoint.host, stomp_endpoint.port)
    await proxy.start()
    integration = integration_for(addresses=[f"stomp://127.0.0.1:{proxy.port}"])
    before = make_job(make_event(), integration)
    retried = make_job(make_event(), integration)
    try:
        [first] = await transport.deliver([before])
        await proxy.stop()
        [down] = await transport.deliver([retried])
        await proxy.start()
        [again] = await transport.deliver([retried])
    finally:
        await proxy.stop()

    assert first.succeeded, first.error_detail
    assert not down.succeeded
    assert down.error_detail is not None
    assert again.succeeded, again.error_detail
    frames = await asyncio.to_thread(subscriber.wait_for, 2)
    assert [json.loads(f.body)["id"] for f in frames] == [before.event.id, retried.event.id]


async def test_a_message_the_broker_rejects_fails_with_the_brokers_reason(
    transport: StompTransport, stomp_endpoint: StompEndpoint, box: SecretBox
) -> None:
    # ActiveMQ answers a SEND to an unknown temporary queue with an ERROR carrying the receipt id.
    missing = "/remote-temp-queue/ID:qs-missing-1:1"
    integration = stomp_integration(box, stomp_endpoint, missing)

    outcomes = await transport.deliver([make_job(make_event(), integration) for _ in range(2)])

    for outcome in outcomes:
        assert not outcome.succeeded
        assert outcome.error_detail is not None
        assert outcome.error_detail.startswith("the STOMP broker rejected the message: ")
        assert "qs-missing-1" in outcome.error_detail


async def test_stomp_ssl_speaks_tls_and_verifies_the_broker(
    box: SecretBox,
    stomp_endpoint: StompEndpoint,
    destination: str,
    subscriber: StompSubscriber,
    tmp_path: Path,
) -> None:
    ca_file, server_tls = self_signed_tls(tmp_path)
    proxy = TcpProxy(stomp_endpoint.host, stomp_endpoint.port, tls=server_tls)
    await proxy.start()
    address = [f"stomp+ssl://127.0.0.1:{proxy.port}"]
    integration = stomp_integration(box, stomp_endpoint, destination, addresses=address)
    trusting = StompTransport(
        policy=LOOPBACK, settings=TEST_SETTINGS.model_copy(update={"tls_ca_file": ca_file}), box=box
    )
    untrusting = StompTransport(policy=LOOPBACK, settings=TEST_SETTINGS, box=box)
    try:
        [trusted] = await trusting.deliver([make_job(make_event(), integration)])
        [refused] = await untrusting.deliver([make_job(make_event(), integration)])
    finally:
        await trusting.aclose()
        await untrusting.aclose()
        await proxy.stop()

    assert trusted.succeeded, trusted.error_detail
    assert json.loads(trusted.body)["broker"] == address[0]
    assert refused.error_detail == f"could not connect to any STOMP address ({address[0]})"
    assert len(await asyncio.to_thread(subscriber.wait_for, 1)) == 1


async def test_idle_connections_are_closed(
    box: SecretBox, stomp_endpoint: StompEndpoint, destination: str
) -> None:
    settings = TEST_SETTINGS.model_copy(update={"idle_timeout_s": 1.0})
    stomp_transport = StompTransport(policy=LOOPBACK, settings=settings, box=box)
    first = stomp_integration(box, stomp_endpoint, destination)
    second = stomp_integration(box, stomp_endpoint, destination)
    try:
        assert (await stomp_transport.deliver([make_job(make_event(), first)]))[0].succeeded
        await asyncio.sleep(1.2)
        stomp_transport._last_sweep = 0.0  # the sweep runs at most every 10 s; due now
        assert (await stomp_transport.deliver([make_job(make_event(), second)]))[0].succeeded
        assert stomp_transport.open_connections == 1  # only the second, just used
    finally:
        await stomp_transport.aclose()
