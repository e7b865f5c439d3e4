"""The whole platform, as a user drives it: the public API, the events topic, real destinations.

One platform (all five services as processes, isolated topics and database) serves the module.
Integrations are created through the API; events go into the events topic; what arrives at a
webhook receiver, an SQS queue and a STOMP destination is checked against the spec's shapes.
"""

from __future__ import annotations

import asyncio
import json
import queue
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import stomp
from aiokafka import AIOKafkaProducer
from standardwebhooks.webhooks import Webhook

from conftest import QueueFactory, StompEndpoint, unique_name
from integrations_testkit.contract import QUEUE_MESSAGE_FIELDS, WEBHOOK_BODY_FIELDS
from tests.e2e.clients import api_client, cloud_event, send_event
from tests.e2e.harness import Platform, RunConfig, RunFactory
from tests.e2e.receivers import WebhookReceiver, always, fail_first
from tests.e2e.signing import signing_key_for

pytestmark = pytest.mark.e2e

STORE_ID = f"store-{uuid.uuid4().hex[:8]}"
ORG_ID = f"org-{uuid.uuid4().hex[:8]}"
FAST_RETRIES = "1s,2s,4s,8s"


@pytest.fixture(scope="module")
def module_run(new_run: RunFactory) -> RunConfig:
    return new_run(
        {
            "WEBHOOK_SENDER_DELIVERY__RETRY_SCHEDULE": FAST_RETRIES,
            "QUEUE_SENDER_DELIVERY__RETRY_SCHEDULE": FAST_RETRIES,
        }
    )


class Api:
    """A tenant's view of the public API."""

    def __init__(self, platform: Platform, run: RunConfig, *, store: bool = True) -> None:
        store_id = STORE_ID if store else None
        self.client = api_client(platform, run, store_id=store_id, org_id=ORG_ID)

    async def create(self, **attributes: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/integrations", json={"data": {"type": "integration", **attributes}}
        )
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    async def webhook(self, name: str, url: str, observes: list[str]) -> dict[str, Any]:
        """Create a webhook integration without a secret key: `observes` posted to `url`."""
        return await self.create(
            name=name, integration_type="webhook", observes=observes, configuration={"url": url}
        )

    async def update(self, integration_id: str, **attributes: Any) -> dict[str, Any]:
        response = await self.client.put(
            f"/integrations/{integration_id}",
            json={"data": {"type": "integration", **attributes}},
        )
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    async def get(self, path: str) -> dict[str, Any]:
        response = await self.client.get(path)
        assert response.status_code == 200, response.text
        document: dict[str, Any] = response.json()
        return document


@pytest.fixture
async def store_api(platform: Platform, module_run: RunConfig) -> AsyncIterator[Api]:
    api = Api(platform, module_run)
    yield api
    await api.client.aclose()


@pytest.fixture
async def org_api(platform: Platform, module_run: RunConfig) -> AsyncIterator[Api]:
    api = Api(platform, module_run, store=False)
    yield api
    await api.client.aclose()


def order_document(order_id: str) -> dict[str, Any]:
    return {
        "data": {
            "type": "order",
            "id": order_id,
            "status": "complete",
            "payment": "paid",
            "customer": {"name": "Ron Swanson", "email": "ron.swanson@example.com"},
            "relationships": {"items": {"data": [{"type": "item", "id": "i-1"}]}},
        },
        "included": {"items": [{"type": "order_item", "id": "i-1", "quantity": 1}]},
    }


async def emit(
    producer: AIOKafkaProducer,
    run: RunConfig,
    *,
    event_type: str,
    data: dict[str, Any],
    store: bool = True,
) -> str:
    store_id = STORE_ID if store else None
    event = cloud_event(event_type, source="urn:e2e", org_id=ORG_ID, store_id=store_id, data=data)
    await send_event(producer, run, event)
    return str(event["id"])


async def settle(api: Api) -> None:
    """Let a config change reach the router (it applies within about a second)."""
    del api
    await asyncio.sleep(3)


async def test_webhook_delivery_matches_the_spec_and_verifies(
    store_api: Api,
    receiver: WebhookReceiver,
    producer: AIOKafkaProducer,
    module_run: RunConfig,
) -> None:
    secret = "secret_squirrel"
    integration = await store_api.create(
        name="Order paid notification",
        description="Fire an event on order paid",
        integration_type="webhook",
        observes=["order.paid", "product.deleted"],
        configuration={"url": receiver.url, "secret_key": secret},
    )
    await settle(store_api)
    order_id = str(uuid.uuid4())
    paid_id = await emit(
        producer, module_run, event_type="order.paid", data=order_document(order_id)
    )
    deleted_id = await emit(
        producer,
        module_run,
        event_type="product.deleted",
        data={"data": {"type": "product", "id": "p-1"}},
    )

    requests = await receiver.wait_for(lambda r: len(r) >= 2)
    by_trigger = {r.json()["triggered_by"]: r for r in requests}
    paid, deleted = by_trigger["order.paid"], by_trigger["product.deleted"]
    paid_body = paid.json()

    assert set(paid_body) == WEBHOOK_BODY_FIELDS
    assert paid_body["id"] in (paid_id, paid.headers["webhook-id"])
    assert paid_body["attempt"] == 1
    assert paid_body["integration"] == {
        "id": integration["id"],
        "integration_type": "webhook",
        "name": "Order paid notification",
        "description": "Fire an event on order paid",
    }
    assert paid_body["payload"] == order_document(order_id)
    assert json.loads(paid_body["resources"]) == paid_body["payload"]
    assert paid_body["configuration"]["url"] == receiver.url
    assert (paid_body["store_id"], paid_body["org_id"]) == (STORE_ID, ORG_ID)
    assert paid.headers["Content-Type"].startswith("application/json")
    assert paid.headers["X-MOLTIN-SECRET-KEY"] == secret
    assert deleted.json()["payload"] == {"type": "product", "id": "p-1"}
    assert deleted.json()["id"] in (deleted_id, deleted.headers["webhook-id"])
    for request in (paid, deleted):
        assert request.headers["webhook-id"]
        verify_signature(request.body, request.headers, secret)


def verify_signature(body: bytes, headers: dict[str, str], secret: str) -> None:
    """Verify with the standardwebhooks reference library, keyed as docs/webhooks.md says."""
    lowered = {k.lower(): v for k, v in headers.items()}
    Webhook(signing_key_for(secret)).verify(body, lowered)


async def test_org_level_event_reaches_org_integrations_only(
    org_api: Api,
    store_api: Api,
    receiver: WebhookReceiver,
    producer: AIOKafkaProducer,
    module_run: RunConfig,
) -> None:
    org_integration = await org_api.webhook(
        "org releases", receiver.url, ["catalog-release.created"]
    )
    await store_api.webhook("store releases", receiver.url + "/store", ["catalog-release.created"])
    await settle(org_api)
    await emit(
        producer,
        module_run,
        event_type="catalog-release.created",
        data={"data": {"type": "catalog-release", "id": "r-1"}},
        store=False,
    )

    [request] = await receiver.wait_for(lambda r: len(r) >= 1)
    await asyncio.sleep(2)
    body = request.json()

    assert len(receiver.requests) == 1
    assert body["integration"]["id"] == org_integration["id"]
    assert body["org_id"] == ORG_ID
    assert "store_id" not in body
    assert "X-MOLTIN-SECRET-KEY" not in request.headers


async def test_sqs_and_stomp_get_spec_cloudevents(
    store_api: Api,
    producer: AIOKafkaProducer,
    module_run: RunConfig,
    sqs_client: Any,
    sqs_queue_factory: QueueFactory,
    stomp_endpoint: StompEndpoint,
) -> None:
    queue_url = await sqs_queue_factory("e2e")
    destination = f"/queue/{unique_name('e2e')}"
    sqs = await store_api.create(
        name="sqs",
        integration_type="aws_sqs",
        observes=["cart.updated", "product.deleted"],
        configuration={
            "url": queue_url,
            "aws_access_key_id": "AKIAE2ETESTKEYJIMB",
            "aws_secret_access_key": "e2e-secret-access-key-HK4o",
            "region": "us-east-1",
        },
    )
    stomp_integration = await store_api.create(
        name="stomp",
        integration_type="stomp",
        observes=["cart.updated", "product.deleted"],
        configuration={
            "addresses": [f"stomp://{stomp_endpoint.host}:{stomp_endpoint.port}"],
            "destination": destination,
            "username": stomp_endpoint.login,
            "password": stomp_endpoint.passcode,
        },
    )
    assert "e2e-secret-access-key" not in json.dumps(sqs)
    frames: queue.Queue[Any] = queue.Queue()
    listener = stomp.ConnectionListener()
    listener.on_message = frames.put
    connection = stomp.Connection12([(stomp_endpoint.host, stomp_endpoint.port)])
    connection.set_listener("e2e", listener)
    connection.connect(stomp_endpoint.login, stomp_endpoint.passcode, wait=True)
    connection.subscribe(destination, id="e2e", ack="auto")
    try:
        await settle(store_api)
        cart = {"data": {"type": "cart", "id": "c-1", "name": "Cart"}}
        cart_id = await emit(producer, module_run, event_type="cart.updated", data=cart)
        await emit(
            producer,
            module_run,
            event_type="product.deleted",
            data={"data": {"type": "product", "id": "p-9"}},
        )
        messages = await receive_sqs(sqs_client, queue_url, count=2)
        stomp_frames = [await asyncio.to_thread(frames.get, timeout=30) for _ in range(2)]
    finally:
        connection.disconnect()

    sqs_docs = {d["type"]: d for d in (json.loads(m["Body"]) for m in messages)}
    stomp_docs = {d["type"]: d for d in (json.loads(f.body) for f in stomp_frames)}
    for docs, integration in ((sqs_docs, sqs), (stomp_docs, stomp_integration)):
        updated, deleted = docs["cart.updated"], docs["product.deleted"]
        assert set(updated) == set(QUEUE_MESSAGE_FIELDS)
        assert updated["data"] == cart["data"]
        assert updated["id"] in (cart_id, updated["id"])
        assert updated["integrationid"] == integration["id"]
        assert (updated["specversion"], updated["storeid"]) == ("1.0", STORE_ID)
        assert updated["datacontenttype"] == "application/json"
        assert deleted["data"] == {"id": "p-9", "type": "product"}
    assert all(
        f.headers["content-type"].startswith("application/cloudevents+json") for f in stomp_frames
    )


async def receive_sqs(client: Any, queue_url: str, *, count: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    async with asyncio.timeout(30):
        while len(messages) < count:
            response = await client.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=2
            )
            messages.extend(response.get("Messages", []))
    return messages


async def test_observes_update_disable_and_delete_take_effect(
    store_api: Api,
    receiver: WebhookReceiver,
    producer: AIOKafkaProducer,
    module_run: RunConfig,
) -> None:
    integration = await store_api.webhook("lifecycle", receiver.url, ["order.created"])
    integration_id = integration["id"]
    order = order_document("o-life")
    await settle(store_api)

    await emit(producer, module_run, event_type="order.paid", data=order)
    await emit(producer, module_run, event_type="order.created", data=order)
    await receiver.wait_for(lambda r: len(r) >= 1)
    await store_api.update(integration_id, observes=["order.paid"])
    await settle(store_api)
    await emit(producer, module_run, event_type="order.created", data=order)
    await emit(producer, module_run, event_type="order.paid", data=order)
    await receiver.wait_for(lambda r: len(r) >= 2)
    await store_api.update(integration_id, enabled=False)
    await settle(store_api)
    await emit(producer, module_run, event_type="order.paid", data=order)
    await asyncio.sleep(3)
    after_disable = len(receiver.requests)
    await store_api.update(integration_id, enabled=True)
    await settle(store_api)
    await emit(producer, module_run, event_type="order.paid", data=order)
    await receiver.wait_for(lambda r: len(r) >= 3)
    deleted = await store_api.client.delete(f"/integrations/{integration_id}")
    await settle(store_api)
    await emit(producer, module_run, event_type="order.paid", data=order)
    await asyncio.sleep(3)

    triggers = [r.json()["triggered_by"] for r in receiver.requests]
    assert triggers == ["order.created", "order.paid", "order.paid"]
    assert after_disable == 2
    assert deleted.status_code in (200, 204)


async def test_failing_receiver_shows_three_attempts_in_jobs_and_logs(
    store_api: Api,
    receiver: WebhookReceiver,
    producer: AIOKafkaProducer,
    module_run: RunConfig,
) -> None:
    receiver.behaviour = fail_first(2)
    integration = await store_api.webhook("flaky", receiver.url, ["order.fulfilled"])
    integration_id = integration["id"]
    await settle(store_api)
    await emit(producer, module_run, event_type="order.fulfilled", data=order_document("o-flaky"))

    requests = await receiver.wait_for(lambda r: any(x.status == 200 for x in r), timeout=60)
    receiver.behaviour = always(200)
    logs = await poll_logs(store_api, f"/integrations/{integration_id}/logs", count=3)
    jobs = await store_api.get(f"/integrations/{integration_id}/jobs")
    [job] = jobs["data"]
    job_logs = await store_api.get(f"/integrations/{integration_id}/jobs/{job['id']}/logs")
    store_logs = await store_api.get("/integrations/logs?page[limit]=100")

    assert [r.json()["attempt"] for r in requests] == [1, 2, 3]
    assert len({r.headers["webhook-id"] for r in requests}) == 1
    assert sorted(log["attempt"] for log in logs) == [1, 2, 3]
    assert sorted(log["succeeded"] for log in logs) == [False, False, True]
    failed = [log for log in logs if not log["succeeded"]]
    assert all(log["status_code"] == 500 for log in failed)
    assert all("2xx" in log["error_detail"] for log in failed)
    assert all(log["relationships"]["job"]["data"]["id"] == job["id"] for log in logs)
    assert job["type"] == "integration-job"
    assert len(job_logs["data"]) == 3
    assert {log["id"] for log in logs} <= {log["id"] for log in store_logs["data"]}


async def poll_logs(api: Api, path: str, *, count: int) -> list[dict[str, Any]]:
    """Logs reach the API through the log writer; wait until `count` are there."""
    async with asyncio.timeout(30):
        while True:
            data: list[dict[str, Any]] = (await api.get(path))["data"]
            if len(data) >= count:
                return data
            await asyncio.sleep(0.5)
