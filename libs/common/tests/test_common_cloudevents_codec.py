"""Unit tests of the CloudEvents codec: both modes, every rejection reason."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from integrations_common.cloudevents_codec import (
    InvalidEventError,
    RejectReason,
    decode_record,
    encode_binary,
    encode_structured,
    header_value,
)
from integrations_common.events import CommerceEvent

pytestmark = pytest.mark.unit


def attributes(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "specversion": "1.0",
        "id": "evt-1",
        "source": "/orders",
        "type": "order.paid",
        "time": "2026-11-28T04:00:00Z",
        "orgid": "org-1",
        "storeid": "store-1",
        "data": {"data": {"type": "order", "id": "o-1"}},
    }
    document.update(overrides)
    return {k: v for k, v in document.items() if v is not None}


def structured(**overrides: Any) -> bytes:
    return json.dumps(attributes(**overrides)).encode()


def reason_of(value: bytes | None, headers: list[tuple[str, bytes]] | None = None) -> RejectReason:
    with pytest.raises(InvalidEventError) as caught:
        decode_record(value, headers)
    return caught.value.reason


def test_structured_event_decodes() -> None:
    event = decode_record(structured(), [("content-type", b"application/cloudevents+json")])
    assert (event.id, event.type, event.orgid, event.storeid) == (
        "evt-1",
        "order.paid",
        "org-1",
        "store-1",
    )
    assert event.resource == {"type": "order", "id": "o-1"}


def test_structured_without_content_type_is_accepted() -> None:
    assert decode_record(structured()).id == "evt-1"


def test_empty_storeid_means_org_level() -> None:
    event = decode_record(structured(type="integration.created", storeid=""))
    assert event.storeid is None


def test_structured_round_trip() -> None:
    original = decode_record(structured())
    value, headers = encode_structured(original)
    assert header_value(headers, "content-type") == "application/cloudevents+json"
    assert decode_record(value, headers) == original


def test_binary_round_trip() -> None:
    original = decode_record(structured(extra_attr="x"))
    value, headers = encode_binary(original)
    assert json.loads(value) == original.data
    assert header_value(headers, "ce_type") == "order.paid"
    decoded = decode_record(value, headers)
    assert decoded == original


def test_binary_event_from_headers() -> None:
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", b"evt-2"),
        ("ce_source", b"/orgs"),
        ("ce_type", b"catalog-release.created"),
        ("ce_time", b"2026-11-28T04:00:00+00:00"),
        ("ce_orgid", b"org-9"),
        ("content-type", b"application/json"),
    ]
    event = decode_record(b'{"data": {"type": "catalog-release", "id": "r"}}', headers)
    assert event.storeid is None
    assert event.tenant.key == "org:org-9"


def test_data_base64_is_decoded() -> None:
    document = attributes(data=None)
    document["data_base64"] = base64.b64encode(b'{"data": {"id": "x"}}').decode()
    event = decode_record(json.dumps(document).encode())
    assert event.resource == {"id": "x"}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, RejectReason.EMPTY),
        (b"", RejectReason.EMPTY),
        (b"{nope", RejectReason.NOT_JSON),
        (b"\xff\xfe", RejectReason.NOT_JSON),
        (b"[1, 2]", RejectReason.NOT_AN_OBJECT),
        (structured(id=None), RejectReason.MISSING_ATTRIBUTE),
        (structured(specversion=None), RejectReason.MISSING_ATTRIBUTE),
        (structured(time=None), RejectReason.MISSING_ATTRIBUTE),
        (structured(source=""), RejectReason.MISSING_ATTRIBUTE),
        (structured(orgid=""), RejectReason.MISSING_ATTRIBUTE),
        (structured(specversion="0.3"), RejectReason.UNSUPPORTED_SPECVERSION),
        (structured(time="yesterday"), RejectReason.INVALID_ATTRIBUTE),
        (structured(time="2026-11-28T04:00:00"), RejectReason.INVALID_ATTRIBUTE),
        (structured(data=[1]), RejectReason.INVALID_DATA),
        (structured(type="order.exploded"), RejectReason.UNKNOWN_TYPE),
        (structured(storeid=None), RejectReason.MISSING_STOREID),
        (structured(datacontenttype="text/xml"), RejectReason.UNSUPPORTED_CONTENT_TYPE),
    ],
)
def test_structured_rejections(value: bytes | None, reason: RejectReason) -> None:
    assert reason_of(value) is reason


def test_binary_rejections() -> None:
    value, headers = encode_binary(decode_record(structured()))
    assert reason_of(b"not json", headers) is RejectReason.NOT_JSON
    without_store = [(k, v) for k, v in headers if k != "ce_storeid"]
    assert reason_of(value, without_store) is RejectReason.MISSING_STOREID
    bad_header = [*headers, ("ce_extra", b"\xff")]
    assert reason_of(value, bad_header) is RejectReason.BAD_HEADER
    xml = [*[(k, v) for k, v in headers if k != "content-type"], ("content-type", b"text/xml")]
    assert reason_of(value, xml) is RejectReason.UNSUPPORTED_CONTENT_TYPE


def test_org_or_store_types_accept_both() -> None:
    with_store = decode_record(structured(type="integration.created"))
    without_store = decode_record(structured(type="integration.created", storeid=None))
    assert with_store.tenant.key == "store:store-1"
    assert without_store.tenant.key == "org:org-1"


def test_custom_api_events_are_store_level() -> None:
    assert decode_record(structured(type="wishlists.created")).type == "wishlists.created"
    assert reason_of(structured(type="wishlists.created", storeid=None)) is (
        RejectReason.MISSING_STOREID
    )


def test_error_carries_reason_and_detail() -> None:
    with pytest.raises(InvalidEventError) as caught:
        decode_record(structured(type="nope.nope"))
    assert caught.value.reason is RejectReason.UNKNOWN_TYPE
    assert "nope.nope" in caught.value.detail
    assert not caught.value.retryable


def test_encoded_event_is_a_commerce_event() -> None:
    event = CommerceEvent.model_validate(attributes())
    value, _ = encode_structured(event)
    assert json.loads(value)["specversion"] == "1.0"
