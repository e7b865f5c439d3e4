"""The request body, secret handling in the body, signing keys and Retry-After parsing."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from integrations_testkit.factories import make_event, make_webhook_job
from integrations_webhook_sender.request import (
    BodySecret,
    encode_body,
    encode_webhook_body,
    sign,
    signing_key,
    webhook_body,
    webhook_headers,
)
from integrations_webhook_sender.transport import parse_retry_after

pytestmark = pytest.mark.unit

URL = "https://webhook.url"


def test_body_secret_modes() -> None:
    job = make_webhook_job(URL)
    plain = webhook_body(job, url=URL, secret_key="secret_squirrel", body_secret=BodySecret.PLAIN)
    masked = webhook_body(job, url=URL, secret_key="secret_squirrel", body_secret=BodySecret.MASKED)
    omitted = webhook_body(job, url=URL, secret_key="secret_squirrel", body_secret=BodySecret.OMIT)
    assert plain["configuration"] == {"url": URL, "secret_key": "secret_squirrel"}
    assert masked["configuration"]["secret_key"] == "***********rrel"
    assert omitted["configuration"] == {"url": URL}


def test_deleted_payload_is_type_and_id_only() -> None:
    event = make_event(event_type="product.deleted")
    body = webhook_body(
        make_webhook_job(URL, event=event), url=URL, secret_key=None, body_secret=BodySecret.PLAIN
    )
    assert body["payload"] == {"type": "product", "id": event.data["data"]["id"]}
    assert body["resources"] == json.dumps(body["payload"], separators=(",", ":"))
    assert body["triggered_by"] == "product.deleted"


@pytest.mark.parametrize("body_secret", list(BodySecret))
@pytest.mark.parametrize("event_type", ["order.paid", "product.deleted"])
@pytest.mark.parametrize("store_id", ["store-1", None])
def test_the_body_is_encoded_with_the_payload_serialised_once_to_the_same_bytes(
    body_secret: BodySecret, event_type: str, store_id: str | None
) -> None:
    event = make_event(event_type=event_type, store_id=store_id)
    job = make_webhook_job(URL, event=event)
    for secret in ("k", None):
        expected = encode_body(
            webhook_body(job, url=URL, secret_key=secret, body_secret=body_secret)
        )
        encoded = encode_webhook_body(job, url=URL, secret_key=secret, body_secret=body_secret)
        assert encoded == expected


def test_the_body_is_the_compact_json_the_standard_library_writes() -> None:
    """Byte for byte what `json.dumps` gives (non-ASCII text kept, not escaped)."""
    resource = {"type": "order", "id": "o-1", "note": 'crème brûlée, 5 € "quoted"\n'}
    job = make_webhook_job(URL, event=make_event(resource=resource))
    for secret in ("k", None):
        body = webhook_body(job, url=URL, secret_key=secret, body_secret=BodySecret.PLAIN)
        expected = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        assert encode_body(body) == expected
        assert (
            encode_webhook_body(job, url=URL, secret_key=secret, body_secret=BodySecret.PLAIN)
            == expected
        )


def test_signature_matches_the_reference_library() -> None:
    job = make_webhook_job(URL)
    body = encode_body(webhook_body(job, url=URL, secret_key="k", body_secret=BodySecret.PLAIN))
    now = int(datetime.now(UTC).timestamp())
    headers = webhook_headers(job=job, body=body, secret_key="k", timestamp=now, user_agent="t")
    reference = Webhook(b"k").sign(job.job_id, datetime.fromtimestamp(now, UTC), body.decode())
    assert headers["webhook-signature"] == reference
    assert headers["webhook-signature"] == sign(
        key=b"k", message_id=job.job_id, timestamp=now, body=body
    )


def test_whsec_keys_are_base64_after_the_prefix() -> None:
    raw = b"\x00\x01binary-key-bytes"
    assert signing_key("whsec_" + base64.b64encode(raw).decode()) == raw
    assert signing_key("whsec_" + base64.b64encode(raw).decode().rstrip("=")) == raw
    assert signing_key("plain secret") == b"plain secret"


def test_retry_after_forms() -> None:
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert parse_retry_after("30", now=now) == 30
    assert parse_retry_after("Sat, 28 Nov 2026 12:01:00 GMT", now=now) == 60
    assert parse_retry_after("Sat, 28 Nov 2026 11:00:00 GMT", now=now) == 0
    assert parse_retry_after("soon", now=now) is None
