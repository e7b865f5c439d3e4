"""The message both queue transports deliver: a CloudEvents 1.0 structured JSON document.

The shape is the spec's, field for field: `data`, `datacontenttype`, `id`, `integrationid`,
`source`, `specversion`, `storeid` (store-level events only) and `type`, plus `orgid` and `time`,
and, while tracing is on, the distributed-tracing extension `traceparent` (the attempt's span).
`data` is the event document's `data` member (the resource); for `*.deleted` events it is only
the resource's `id` and `type`.
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

from integrations_common.events import CLOUDEVENTS_CONTENT_TYPE
from integrations_common.jobs import DeliveryJob
from integrations_common.tracing import TRACEPARENT, traceparent_for

CONTENT_TYPE = CLOUDEVENTS_CONTENT_TYPE
DATA_CONTENT_TYPE = "application/json"
SPEC_VERSION = "1.0"


def message_document(job: DeliveryJob) -> dict[str, Any]:
    """The CloudEvent for one job, keys in the spec's (alphabetical) order."""
    event = job.event
    resource = event.resource
    if event.is_deletion:
        data: dict[str, Any] = {"id": resource.get("id"), "type": resource.get("type")}
    else:
        data = resource
    document: dict[str, Any] = {
        "data": data,
        "datacontenttype": DATA_CONTENT_TYPE,
        "id": event.id,
        "integrationid": job.integration.id,
        "orgid": event.orgid,
        "source": event.source,
        "specversion": SPEC_VERSION,
    }
    if event.storeid is not None:
        document["storeid"] = event.storeid
    document["time"] = event.time.astimezone(UTC).isoformat().replace("+00:00", "Z")
    traceparent = traceparent_for(job.job_id)
    if traceparent is not None:
        document[TRACEPARENT] = traceparent  # the CloudEvents distributed-tracing extension
    document["type"] = event.type
    return document


def message_body(job: DeliveryJob) -> str:
    """The CloudEvent as compact JSON text (UTF-8, non-ASCII kept as is)."""
    return json.dumps(message_document(job), ensure_ascii=False, separators=(",", ":"))


def resource_id(job: DeliveryJob) -> str:
    """The id of the resource the event is about, or the event id if it names none."""
    value = job.event.resource.get("id")
    return str(value) if value not in (None, "") else job.event.id
