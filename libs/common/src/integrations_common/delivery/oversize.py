"""What a sender writes instead of a record Kafka refuses as too large.

Such a record would be refused forever, and retrying it would stall its partition. An attempt log
goes again without the receiver's answer (`body` emptied, `error_detail` says so) and without
the event it carries on a first attempt (that job then cannot be replayed from the store), so the
log writer can still store it. Any other record (a dead letter, a job for a retry tier) goes with no
value and headers that say what was cut: `x-truncated: true`, `x-original-bytes` and
`x-original-sha256` (hex), next to its own headers (the reason and the source position).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

from integrations_common.kafka_send import OutgoingRecord

_LOG_NOTE = "The receiver's answer was dropped: the attempt log was too large for Kafka"


def smaller(record: OutgoingRecord, *, logs_topic: str) -> OutgoingRecord:
    """The record to send in place of `record`, which Kafka refused as too large."""
    value, headers = record.value, record.headers
    if not value:
        return replace(record, headers=[(name, data[:1024]) for name, data in headers])
    if record.topic == logs_topic:
        try:
            log = json.loads(value)
        except ValueError:
            log = None
        if isinstance(log, dict) and (log.get("body") or log.get("event")):
            detail = log.get("error_detail")
            log["body"] = ""
            log.pop("event", None)
            log["error_detail"] = f"{detail} ({_LOG_NOTE})" if detail else _LOG_NOTE
            return replace(record, value=json.dumps(log, separators=(",", ":")).encode())
    marks = [
        ("x-truncated", b"true"),
        ("x-original-bytes", str(len(value)).encode()),
        ("x-original-sha256", hashlib.sha256(value).hexdigest().encode()),
    ]
    return replace(record, value=b"", headers=[*headers, *marks])
