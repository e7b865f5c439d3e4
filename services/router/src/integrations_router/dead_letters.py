"""The events dead-letter record: the original record, untouched, plus why it was rejected.

The value and key are the original bytes and the original headers are kept (so a binary-mode
event keeps its `ce_*` headers); the router appends these headers:

| header | value |
|---|---|
| `dlq-reason` | a reason code from `RejectReason` (for example `missing_storeid`) |
| `dlq-detail` | a human-readable explanation |
| `dlq-topic`, `dlq-partition`, `dlq-offset` | where the record was read |
| `dlq-rejected-at` | when the router rejected it (ISO 8601, UTC) |

A dead letter is written even when the original does not fit: one larger than
`ROUTER_MAX_DEAD_LETTER_BYTES` keeps only the head of its value that fits, and one the broker
still refuses as too large keeps no value and only the `dlq-*` headers. Either way the
partition moves on, and the record says what was cut:

| header | value |
|---|---|
| `dlq-truncated` | `true` |
| `dlq-original-bytes` | the original value's size in bytes |
| `dlq-original-sha256` | the original value's SHA-256 (hex) |
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime
from typing import Any

from integrations_common.kafka_send import OutgoingRecord

DLQ_HEADERS = (
    "dlq-reason",
    "dlq-detail",
    "dlq-topic",
    "dlq-partition",
    "dlq-offset",
    "dlq-rejected-at",
    "dlq-truncated",
    "dlq-original-bytes",
    "dlq-original-sha256",
)
_MAX_DETAIL = 2_000
_MAX_STRIPPED_KEY = 1_024


def dead_letter(
    *, record: Any, topic: str, reason: str, detail: str, now: datetime
) -> OutgoingRecord:
    """The dead-letter record for an input record that could not be routed."""
    headers = [(key, value) for key, value in (record.headers or ()) if key not in DLQ_HEADERS]
    headers += [
        ("dlq-reason", reason.encode()),
        ("dlq-detail", detail[:_MAX_DETAIL].encode("utf-8", "replace")),
        ("dlq-topic", str(record.topic).encode()),
        ("dlq-partition", str(record.partition).encode()),
        ("dlq-offset", str(record.offset).encode()),
        ("dlq-rejected-at", now.isoformat().encode()),
    ]
    return OutgoingRecord(
        topic=topic, key=record.key, value=record.value, headers=headers, dead_letter=True
    )


def truncated(letter: OutgoingRecord, *, max_bytes: int) -> OutgoingRecord:
    """`letter` cut to at most `max_bytes` (its value's head), with what was cut in headers."""
    if letter.size <= max_bytes or not letter.value:
        return letter
    value = letter.value
    headers = [
        *letter.headers,
        ("dlq-truncated", b"true"),
        ("dlq-original-bytes", str(len(value)).encode()),
        ("dlq-original-sha256", hashlib.sha256(value).hexdigest().encode()),
    ]
    without_value = replace(letter, value=b"", headers=headers)
    room = max(0, max_bytes - without_value.size)
    return replace(without_value, value=value[:room])


def stripped(letter: OutgoingRecord) -> OutgoingRecord:
    """`letter` reduced to its `dlq-*` headers (for a broker that refuses even the truncated
    one): no value, none of the original's headers, and its key only if short."""
    marked = truncated(letter, max_bytes=0) if letter.value else letter
    return replace(
        marked,
        key=marked.key if marked.key is not None and len(marked.key) <= _MAX_STRIPPED_KEY else None,
        value=b"",
        headers=[(name, value) for name, value in marked.headers if name in DLQ_HEADERS],
    )
