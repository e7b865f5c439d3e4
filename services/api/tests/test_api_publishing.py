"""Config snapshots and integration events reach Kafka; the reconciler repairs failed publishes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from integrations_api.app import start_services
from integrations_api.integrations import service
from integrations_api.integrations.models import IntegrationCreate
from integrations_api.state import Services
from integrations_common.events import CommerceEvent
from integrations_common.integrations import IntegrationSnapshot
from integrations_common.kafka import create_producer
from integrations_common.secret_box import SecretBox
from integrations_common.settings import TopicSettings
from integrations_common.store.publisher import ConfigPublisher
from integrations_common.store.records import IntegrationRecord
from integrations_common.tenancy import Tenant

from .conftest import (
    RunningApi,
    api_settings,
    auth,
    drop_database,
    read_topic,
    update_body,
    webhook_body,
)

pytestmark = pytest.mark.integration

STORE = {"store_id": "store-pub-1", "org_id": "org-pub-1"}


def _values_for(records: list[Any], key: str) -> list[bytes | None]:
    return [r.value for r in records if r.key == key.encode()]


async def test_create_update_delete_publish_snapshots_and_tombstone(
    running_api: RunningApi, kafka_bootstrap_servers: str
) -> None:
    client = running_api.client
    integration_id = (await running_api.created_webhook(STORE))["id"]
    await client.put(
        f"/v2/integrations/{integration_id}",
        json=update_body(observes=["order.*"]),
        headers=auth(**STORE),
    )
    await client.delete(f"/v2/integrations/{integration_id}", headers=auth(**STORE))

    records = await read_topic(
        kafka_bootstrap_servers,
        running_api.settings.topics.config,
        until=lambda rs: None in _values_for(rs, integration_id),
    )
    values = _values_for(records, integration_id)
    assert values[-1] is None
    snapshots = [IntegrationSnapshot.model_validate_json(v) for v in values if v is not None]
    assert [s.version for s in snapshots][:2] == [1, 2]
    first = snapshots[0]
    assert first.store_id == STORE["store_id"]
    assert first.org_id == STORE["org_id"]
    assert first.observes == ["order.paid"]
    assert snapshots[1].observes == ["order.*"]
    secret = first.configuration["secret_key"]
    assert secret != "secret_squirrel_1234"
    box = SecretBox(running_api.settings.encryption)
    assert box.decrypt(secret) == "secret_squirrel_1234"


async def test_integration_events_on_events_topic(
    running_api: RunningApi, kafka_bootstrap_servers: str
) -> None:
    client = running_api.client
    integration_id = (await running_api.created_webhook(STORE))["id"]
    await client.delete(f"/v2/integrations/{integration_id}", headers=auth(**STORE))

    def events(records: list[Any]) -> list[CommerceEvent]:
        return [
            CommerceEvent.model_validate_json(v)
            for v in _values_for(records, integration_id)
            if v is not None
        ]

    records = await read_topic(
        kafka_bootstrap_servers,
        running_api.settings.topics.events,
        until=lambda rs: len(events(rs)) >= 2,
    )
    found = events(records)
    assert [e.type for e in found] == ["integration.created", "integration.deleted"]
    created_event = found[0]
    assert created_event.orgid == STORE["org_id"]
    assert created_event.storeid == STORE["store_id"]
    assert created_event.data["data"]["id"] == integration_id
    assert created_event.data["data"]["configuration"]["secret_key"] == "****************1234"
    assert found[1].data == {"data": {"type": "integration", "id": integration_id}}
    headers = dict(next(r for r in records if r.key == integration_id.encode()).headers)
    assert headers["content-type"] == b"application/cloudevents+json"
    raw = json.loads(_values_for(records, integration_id)[0] or b"{}")
    assert raw["specversion"] == "1.0"


@asynccontextmanager
async def _services(kafka: str, mongodb: str, topics: TopicSettings) -> AsyncIterator[Services]:
    """The API's services without the app (no reconciler) on `topics` and a database of their
    own; closed and dropped after."""
    settings = api_settings(kafka, mongodb, topics, create_topics=False)
    services = await start_services(settings)
    try:
        yield services
    finally:
        await services.producer.stop()
        await services.mongo.close()
        await drop_database(settings)


async def _created_unpublished(services: Services) -> IntegrationRecord:
    """An integration written to the store by the service, and not published."""
    data = IntegrationCreate.model_validate(webhook_body()["data"])
    return await service.create_integration(
        context=services.integrations, tenant=Tenant(**STORE), data=data
    )


async def test_reconciler_repairs_a_failed_publish(
    kafka_bootstrap_servers: str, mongodb_uri: str, running_api: RunningApi
) -> None:
    """A write whose publish never happened (a crash between store and Kafka) is repaired."""
    topics = running_api.settings.topics
    async with _services(kafka_bootstrap_servers, mongodb_uri, topics) as services:
        settings = services.settings
        record = await _created_unpublished(services)
        # No publish after the write: as if the process died here. The reconciler catches up.
        assert await services.publisher.reconcile() >= 1
        stored = await services.integrations.store.raw(record.id)
        assert stored is not None
        assert stored.pending is False
        assert stored.outbox == {}
        records = await read_topic(
            kafka_bootstrap_servers,
            settings.topics.config,
            until=lambda rs: bool(_values_for(rs, record.id)),
        )
        value = _values_for(records, record.id)[0]
        assert value is not None
        assert IntegrationSnapshot.model_validate_json(value).version == 1
        events = await read_topic(
            kafka_bootstrap_servers,
            settings.topics.events,
            until=lambda rs: bool(_values_for(rs, record.id)),
        )
        assert (
            CommerceEvent.model_validate_json(_values_for(events, record.id)[0] or b"").type
            == "integration.created"
        )


async def test_publish_failure_leaves_it_pending_until_the_reconciler_runs(
    kafka_bootstrap_servers: str, mongodb_uri: str, running_api: RunningApi
) -> None:
    """Kafka refusing a publish: the write stays, marked pending; a later pass publishes it."""
    topics = running_api.settings.topics
    async with _services(kafka_bootstrap_servers, mongodb_uri, topics) as services:
        broken = create_producer(services.settings.kafka)
        await broken.start()
        await broken.stop()  # a producer that can no longer send
        failing = ConfigPublisher(
            producer=broken,
            store=services.integrations.store,
            topics=topics,
            timeout_s=2,
        )
        record = await _created_unpublished(services)
        assert await failing.try_sync(record.id) is False
        pending = await services.integrations.store.raw(record.id)
        assert pending is not None
        assert pending.pending is True
        assert len(pending.outbox) == 1
        assert await services.publisher.reconcile() == 1
        repaired = await services.integrations.store.raw(record.id)
        assert repaired is not None
        assert repaired.pending is False
        assert repaired.outbox == {}
