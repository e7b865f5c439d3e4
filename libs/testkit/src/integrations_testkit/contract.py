"""The members the spec gives what the platform delivers, as tests check them."""

from __future__ import annotations

WEBHOOK_BODY_FIELDS = frozenset(
    {
        "id",
        "triggered_by",
        "attempt",
        "integration",
        "resources",
        "payload",
        "configuration",
        "store_id",
        "org_id",
    }
)
"""The members of a webhook's JSON body."""

QUEUE_MESSAGE_FIELDS = (
    "data",
    "datacontenttype",
    "id",
    "integrationid",
    "orgid",
    "source",
    "specversion",
    "storeid",
    "time",
    "type",
)
"""The members of a queue message's CloudEvent for a store-level event, in order (an
organisation-level event has no `storeid`)."""
