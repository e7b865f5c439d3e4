"""The webhook transport against a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import urllib.parse
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from standardwebhooks import Webhook

from integrations_common.delivery import Verdict
from integrations_common.delivery.transport import start_gate
from integrations_common.secret_box import SecretBox, mask
from integrations_testkit.contract import WEBHOOK_BODY_FIELDS
from integrations_testkit.factories import JobFactory, make_event, make_webhook_job, new_secret_box
from integrations_testkit.receiver import Received, Receiver
from integrations_webhook_sender.settings import HttpSettings, default_user_agent
from integrations_webhook_sender.ssrf import AddressPolicy, parse_networks
from integrations_webhook_sender.transport import OUTSIDE_2XX, WebhookTransport

pytestmark = pytest.mark.integration

LOCAL = parse_networks("127.0.0.0/8")


class NamedResolver(AbstractResolver):
    """Resolves test names to fixed addresses; unknown names fail like a DNS miss."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            ResolveResult(
                hostname=host, host=self.names[host], port=port, family=family, proto=0, flags=0
            )
        ]

    async def close(self) -> None:
        return None


@pytest.fixture
async def transport(secret_box: SecretBox) -> AsyncIterator[WebhookTransport]:
    sender = WebhookTransport(
        http=HttpSettings(),
        policy=AddressPolicy(allow=LOCAL),
        secrets=secret_box,
        resolver=NamedResolver({"receiver.test": "127.0.0.1"}),
    )
    yield sender
    await sender.aclose()


async def test_body_headers_and_signature(
    receiver: Receiver, transport: WebhookTransport, job_factory: JobFactory
) -> None:
    job = job_factory(receiver.url("/hook"), secret="secret_squirrel")
    [outcome] = await transport.deliver([job])
    [request] = receiver.requests

    assert outcome.succeeded
    assert outcome.status_code == 204
    body = request.json
    assert set(body) == WEBHOOK_BODY_FIELDS
    assert body["id"] == job.event.id
    assert body["triggered_by"] == "order.paid"
    assert body["attempt"] == 1
    assert body["integration"] == {
        "id": job.integration.id,
        "integration_type": "webhook",
        "name": "Order paid notification",
        "description": "Fire an event on order paid",
    }
    assert body["payload"] == job.event.data
    assert isinstance(body["resources"], str)
    assert json.loads(body["resources"]) == body["payload"]
    assert body["configuration"] == {"url": receiver.url("/hook"), "secret_key": "secret_squirrel"}
    assert (body["store_id"], body["org_id"]) == ("store-1", "org-1")
    headers = request.headers
    assert headers["Content-Type"] == "application/json"
    assert headers["X-MOLTIN-SECRET-KEY"] == "secret_squirrel"
    assert headers["User-Agent"] == default_user_agent()
    assert headers["webhook-id"] == job.job_id
    verified = Webhook(b"secret_squirrel").verify(request.body, headers)
    assert verified == body


async def test_whsec_secrets_verify_with_the_library_as_is(
    receiver: Receiver, transport: WebhookTransport, job_factory: JobFactory
) -> None:
    secret = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
    await transport.deliver([job_factory(receiver.url("/hook"), secret=secret)])
    [request] = receiver.requests
    assert Webhook(secret).verify(request.body, request.headers)["attempt"] == 1


async def test_retries_keep_the_webhook_id(
    receiver: Receiver, transport: WebhookTransport, job_factory: JobFactory
) -> None:
    job = job_factory(receiver.url("/hook"), secret="s3cret-value")
    second = job.next_attempt(not_before=datetime.now(UTC), attempted_at=datetime.now(UTC))
    await transport.deliver([job, second])
    ids = {r.headers["webhook-id"] for r in receiver.requests}
    attempts = sorted(r.json["attempt"] for r in receiver.requests)
    assert ids == {job.job_id}
    assert attempts == [1, 2]


async def test_deleted_and_org_level_events(
    receiver: Receiver,
    transport: WebhookTransport,
    job_factory: JobFactory,
) -> None:
    event = make_event(event_type="product.deleted", store_id=None)
    await transport.deliver([job_factory(receiver.url("/hook"), event=event)])
    body = receiver.requests[0].json
    resource = event.data["data"]
    assert body["payload"] == {"type": "product", "id": resource["id"]}
    assert json.loads(body["resources"]) == body["payload"]
    assert "store_id" not in body
    assert body["org_id"] == "org-1"
    assert body["configuration"] == {"url": receiver.url("/hook")}
    assert "webhook-signature" not in receiver.requests[0].headers
    assert "X-MOLTIN-SECRET-KEY" not in receiver.requests[0].headers


async def _answer(status: int, body: str = "", **headers: str) -> web.Response:
    return web.Response(status=status, text=body, headers=headers)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, (True, False)),
        (201, (True, False)),
        (404, (False, False)),
        (500, (False, False)),
        (410, (False, True)),
    ],
)
async def test_status_codes(
    receiver: Receiver,
    transport: WebhookTransport,
    job_factory: JobFactory,
    status: int,
    outcome: tuple[bool, bool],
) -> None:
    succeeded, give_up = outcome

    async def handler(request: web.Request, received: Received) -> web.Response:
        return await _answer(status, "Not Found" if status == 404 else "ok")

    receiver.routes["/s"] = handler
    [result] = await transport.deliver([job_factory(receiver.url("/s"))])
    assert (result.succeeded, result.status_code, result.give_up) == (succeeded, status, give_up)
    if status in (404, 500):
        assert result.error_detail == OUTSIDE_2XX
    if status == 404:
        assert result.body == b"Not Found"


async def test_redirects_are_failures_and_not_followed(
    receiver: Receiver, transport: WebhookTransport, job_factory: JobFactory
) -> None:
    async def handler(request: web.Request, received: Received) -> web.Response:
        return await _answer(302, Location=receiver.url("/elsewhere"))

    receiver.routes["/moved"] = handler
    [outcome] = await transport.deliver([job_factory(receiver.url("/moved"))])
    assert not outcome.succeeded
    assert outcome.status_code == 302
    assert outcome.error_detail is not None
    assert outcome.error_detail.startswith("Received a status code outside of 2xx range")
    assert [r.path for r in receiver.requests] == ["/moved"]


async def test_retry_after_seconds_and_date(
    receiver: Receiver, transport: WebhookTransport, job_factory: JobFactory
) -> None:
    async def busy(request: web.Request, received: Received) -> web.Response:
        return await _answer(429, **{"Retry-After": "120"})

    async def down(request: web.Request, received: Received) -> web.Response:
        return await _answer(503, **{"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"})

    async def plain(request: web.Request, received: Received) -> web.Response:
        return await _answer(500, **{"Retry-After": "120"})

    receiver.routes.update({"/busy": busy, "/down": down, "/plain": plain})
    outcomes = await transport.deliver(
        [job_factory(receiver.url(p)) for p in ("/busy", "/down", "/plain")]
    )
    assert outcomes[0].retry_after == 120
    assert outcomes[1].retry_after is not None
    assert outcomes[1].retry_after > 86_400
    assert outcomes[2].retry_after is None


async def test_response_body_is_capped(
    receiver: Receiver, transport: WebhookTransport, job_factory: JobFactory
) -> None:
    async def big(request: web.Request, received: Received) -> web.Response:
        return await _answer(500, "x" * 200_000)

    receiver.routes["/big"] = big
    [outcome] = await transport.deliver([job_factory(receiver.url("/big"))])
    assert len(outcome.body) == 64 * 1024


async def test_a_receiver_that_echoes_the_request_never_gets_the_secret_stored(
    receiver: Receiver, transport: WebhookTransport, job_factory: JobFactory
) -> None:
    secret = 's3cr3t/with+odd&chars"quoted'

    async def echo(request: web.Request, received: Received) -> web.Response:
        text = (await request.read()).decode()
        query = urllib.parse.urlencode({"secret": secret})
        return await _answer(400, f"{text}\n{query}\nraw={secret}")

    receiver.routes["/echo"] = echo
    [outcome] = await transport.deliver([job_factory(receiver.url("/echo"), secret=secret)])
    assert outcome.status_code == 400
    assert outcome.body
    for spelling in (secret, json.dumps(secret)[1:-1], urllib.parse.quote_plus(secret)):
        assert spelling.encode() not in outcome.body
    assert mask(secret).encode() in outcome.body


async def test_slow_receiver_times_out_without_holding_others(
    receiver: Receiver, transport: WebhookTransport, job_factory: JobFactory
) -> None:
    async def slow(request: web.Request, received: Received) -> web.Response:
        await asyncio.sleep(12)
        return await _answer(200)

    receiver.routes["/slow"] = slow
    slow_task = asyncio.create_task(transport.deliver([job_factory(receiver.url("/slow"))]))
    [fast] = await transport.deliver([job_factory(receiver.url("/fast"))])
    assert fast.succeeded
    assert not slow_task.done()
    [outcome] = await slow_task
    assert not outcome.succeeded
    assert outcome.status_code is None
    assert outcome.error_detail == "Timed out after 10 seconds - treating webhook as a fail"


async def test_closed_port_and_unknown_name(
    transport: WebhookTransport, job_factory: JobFactory
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    refused, unknown = await transport.deliver(
        [job_factory(f"http://127.0.0.1:{port}/"), job_factory("http://nowhere.test/")]
    )
    assert refused.error_detail == (
        f"Connection refused by 127.0.0.1:{port} - treating webhook as a fail"
    )
    assert (
        unknown.error_detail == "Could not resolve host nowhere.test - treating webhook as a fail"
    )
    assert not refused.skipped


async def test_connects_to_the_checked_address(
    receiver: Receiver, transport: WebhookTransport, job_factory: JobFactory
) -> None:
    port = receiver.base_url.rsplit(":", 1)[1]
    [outcome] = await transport.deliver([job_factory(f"http://receiver.test:{port}/named")])
    assert outcome.succeeded
    assert receiver.requests[0].headers["Host"] == f"receiver.test:{port}"


async def test_blocked_targets_are_never_sent(
    receiver: Receiver, secret_box: SecretBox, job_factory: JobFactory
) -> None:
    port = receiver.base_url.rsplit(":", 1)[1]
    guarded = WebhookTransport(
        http=HttpSettings(),
        policy=AddressPolicy(),
        secrets=secret_box,
        resolver=NamedResolver({"inside.test": "127.0.0.1"}),
    )
    try:
        outcomes = await guarded.deliver(
            [
                job_factory(receiver.url("/literal")),
                job_factory(f"http://inside.test:{port}/named"),
                job_factory(f"http://2130706433:{port}/decimal"),
                job_factory(f"http://[::ffff:127.0.0.1]:{port}/mapped"),
            ]
        )
    finally:
        await guarded.aclose()
    assert receiver.requests == []
    for outcome in outcomes:
        assert not outcome.succeeded
        assert outcome.skipped
        assert outcome.error_detail is not None
        assert outcome.error_detail.startswith("Blocked by the SSRF guard")
    assert "loopback" in (outcomes[1].error_detail or "")


async def test_a_blocked_literal_address_is_refused_every_time(
    receiver: Receiver, secret_box: SecretBox, job_factory: JobFactory
) -> None:
    """A URL is remembered once it passed the guard; a blocked one never is."""
    guarded = WebhookTransport(http=HttpSettings(), policy=AddressPolicy(), secrets=secret_box)
    try:
        for _ in range(3):
            (outcome,) = await guarded.deliver([job_factory(receiver.url("/again"))])
            assert outcome.skipped
            assert (outcome.error_detail or "").startswith("Blocked by the SSRF guard")
    finally:
        await guarded.aclose()
    assert receiver.requests == []


async def test_bad_urls_give_up(transport: WebhookTransport, job_factory: JobFactory) -> None:
    outcomes = await transport.deliver([job_factory("ftp://example.com/"), job_factory("")])
    assert all(o.give_up and o.skipped for o in outcomes)


async def test_an_undecryptable_secret_gives_up_without_sending(
    receiver: Receiver, transport: WebhookTransport
) -> None:
    """A permanent error: dead-lettered at once (no retry can decrypt it), and nothing is sent."""
    foreign_box = new_secret_box()  # a key the sender does not hold
    job = make_webhook_job(receiver.url("/hook"), secret="s3cret", box=foreign_box)

    [outcome] = await transport.deliver([job])

    assert outcome.verdict is Verdict.GIVE_UP
    assert outcome.skipped
    assert "cannot be decrypted" in (outcome.error_detail or "")
    assert receiver.requests == []


async def test_closing_waits_for_a_request_on_its_way(
    receiver: Receiver, transport: WebhookTransport, job_factory: JobFactory
) -> None:
    arrived = asyncio.Event()

    async def slow(request: web.Request, received: Received) -> web.StreamResponse:
        arrived.set()
        await asyncio.sleep(0.3)
        return web.Response(status=200)

    receiver.routes["/slow"] = slow
    sending = asyncio.create_task(transport.deliver([job_factory(receiver.url("/slow"))]))
    await arrived.wait()
    await transport.aclose()
    [outcome] = await sending
    assert (outcome.succeeded, outcome.status_code) == (True, 200)  # not "Session is closed"


async def test_a_job_handed_back_before_its_request_sends_nothing(
    receiver: Receiver, transport: WebhookTransport, job_factory: JobFactory
) -> None:
    with start_gate(lambda: False):
        [outcome] = await transport.deliver([job_factory(receiver.url("/hook"))])
    assert outcome.released
    assert outcome.verdict is Verdict.SKIPPED
    assert receiver.requests == []
