"""The CloudEvent the queue transports deliver: exact fields, for every kind of event."""

from __future__ import annotations

import json

import pytest

from integrations_common.transports import Transport
from integrations_queue_sender.message import message_body, message_document, resource_id
from integrations_testkit.contract import QUEUE_MESSAGE_FIELDS
from integrations_testkit.factories import make_event, make_integration, make_job, make_resource

pytestmark = pytest.mark.unit


def test_store_level_event_has_exactly_the_spec_fields_in_order() -> None:
    resource = make_resource("order", "order-1")
    event = make_event(event_type="order.created", resource=resource)
    integration = make_integration(
        integration_type=Transport.SQS, configuration={}, integration_id="int-1"
    )
    document = message_document(make_job(event, integration))
    assert list(document) == list(QUEUE_MESSAGE_FIELDS)
    assert document == {
        "data": resource,
        "datacontenttype": "application/json",
        "id": event.id,
        "integrationid": "int-1",
        "orgid": "org-1",
        "source": event.source,
        "specversion": "1.0",
        "storeid": "store-1",
        "time": "2026-11-28T05:00:00.123000Z",
        "type": "order.created",
    }


def test_org_level_event_has_no_storeid() -> None:
    event = make_event(event_type="order.updated", store_id=None)
    integration = make_integration(integration_type=Transport.SQS, configuration={}, store_id=None)
    document = message_document(make_job(event, integration))
    assert "storeid" not in document
    assert list(document) == [f for f in QUEUE_MESSAGE_FIELDS if f != "storeid"]


def test_deleted_resource_carries_only_id_and_type() -> None:
    resource = make_resource("product", "prod-9")
    event = make_event(event_type="product.deleted", resource=resource)
    integration = make_integration(integration_type=Transport.SQS, configuration={})
    document = message_document(make_job(event, integration))
    assert document["data"] == {"id": "prod-9", "type": "product"}


def test_body_is_compact_utf8_json_of_the_document() -> None:
    resource = make_resource("order", "order-ü")
    integration = make_integration(integration_type=Transport.SQS, configuration={})
    job = make_job(make_event(resource=resource), integration)
    body = message_body(job)
    assert "order-ü" in body
    assert ", " not in body
    assert json.loads(body) == message_document(job)


def test_resource_id_falls_back_to_the_event_id() -> None:
    integration = make_integration(integration_type=Transport.SQS, configuration={})
    with_id = make_job(make_event(resource=make_resource("order", "o-1")), integration)
    without = make_job(make_event(resource={"type": "order"}), integration)
    assert resource_id(with_id) == "o-1"
    assert resource_id(without) == without.event.id
