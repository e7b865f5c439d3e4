"""The webhook request: the spec's body, the legacy secret header and Standard Webhooks headers.

Signing key: the integration's own `secret_key`. A value that starts with `whsec_` is a Standard
Webhooks secret (base64 after the prefix); any other value is used as raw UTF-8 bytes, so a
receiver verifies with `Webhook(secret_key.encode())` (or `Webhook(secret_key)` for `whsec_…`).
Without a `secret_key` there is nothing to sign with: `webhook-id` and `webhook-timestamp` are
sent, `webhook-signature` and `X-MOLTIN-SECRET-KEY` are not.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from enum import StrEnum
from typing import Any

from integrations_common.jobs import DeliveryJob
from integrations_common.secret_box import mask

STANDARD_WEBHOOKS_PREFIX = "whsec_"
SECRET_HEADER = "X-MOLTIN-SECRET-KEY"  # noqa: S105 - a header name, not a secret


class BodySecret(StrEnum):
    """How `configuration.secret_key` appears in the body."""

    PLAIN = "plain"
    MASKED = "masked"
    OMIT = "omit"


# `json.dumps(value, separators=(",", ":"), ensure_ascii=False)` builds an encoder per call;
# this one is built once (it keeps no state between calls).
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _json(value: object) -> str:
    return _ENCODER.encode(value)


def payload_of(job: DeliveryJob) -> dict[str, Any]:
    """The body's `payload`: the event's document, or only `{type, id}` for deleted resources."""
    event = job.event
    if event.is_deletion:
        resource = event.resource
        return {"type": resource.get("type"), "id": resource.get("id")}
    return event.data


def webhook_body(
    job: DeliveryJob, *, url: str, secret_key: str | None, body_secret: BodySecret
) -> dict[str, Any]:
    """The spec's webhook body for one attempt of `job`."""
    integration = job.integration
    payload = payload_of(job)
    configuration: dict[str, Any] = {"url": url}
    if secret_key is not None and body_secret is not BodySecret.OMIT:
        configuration["secret_key"] = (
            secret_key if body_secret is BodySecret.PLAIN else mask(secret_key)
        )
    body: dict[str, Any] = {
        "id": job.event.id,
        "triggered_by": job.event.type,
        "attempt": job.attempt,
        "integration": {
            "id": integration.id,
            "integration_type": integration.transport.integration_type,
            "name": integration.name,
            "description": integration.description,
        },
        "resources": _json(payload),
        "payload": payload,
        "configuration": configuration,
    }
    if job.event.storeid is not None:
        body["store_id"] = job.event.storeid
    body["org_id"] = job.event.orgid
    return body


def encode_body(body: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON, exactly the bytes that are signed and sent."""
    return _json(body).encode()


def encode_webhook_body(
    job: DeliveryJob, *, url: str, secret_key: str | None, body_secret: BodySecret
) -> bytes:
    """Exactly `encode_body(webhook_body(...))`, with the payload serialised once, not twice.

    The payload appears twice in the body: as `resources` (its compact JSON, as a string) and as
    `payload`; that JSON is spliced in as the value of `payload`, the keys before and after it
    being encoded around it in the same order. Compact JSON of a dict is `{` + its members
    joined by `,` + `}`, so the splice gives the same bytes.
    """
    body = webhook_body(job, url=url, secret_key=secret_key, body_secret=body_secret)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    side = before
    for key, value in body.items():
        if key == "payload":
            side = after
        else:
            side[key] = value
    head, tail = _json(before), _json(after)  # both hold keys: `id` before, `org_id` after
    return f'{head[:-1]},"payload":{body["resources"]},{tail[1:]}'.encode()


def signing_key(secret_key: str) -> bytes:
    """The HMAC key for a configured secret (see the module docstring)."""
    if secret_key.startswith(STANDARD_WEBHOOKS_PREFIX):
        encoded = secret_key[len(STANDARD_WEBHOOKS_PREFIX) :]
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4))
    return secret_key.encode()


def sign(*, key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """The Standard Webhooks `v1` signature of one message."""
    mac = hmac.new(key, f"{message_id}.{timestamp}.".encode(), hashlib.sha256)
    mac.update(body)  # not concatenated first: the body is the bulk of the message
    digest = mac.digest()
    return "v1," + base64.b64encode(digest).decode()


def webhook_headers(
    *, job: DeliveryJob, body: bytes, secret_key: str | None, timestamp: int, user_agent: str
) -> dict[str, str]:
    """The request headers for one attempt; `webhook-id` is the job id, stable across retries."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": user_agent,
        "webhook-id": job.job_id,
        "webhook-timestamp": str(timestamp),
    }
    if secret_key:
        headers[SECRET_HEADER] = secret_key
        headers["webhook-signature"] = sign(
            key=signing_key(secret_key), message_id=job.job_id, timestamp=timestamp, body=body
        )
    return headers
