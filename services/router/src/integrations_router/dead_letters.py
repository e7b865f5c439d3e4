"""The events dead-letter record: the original record, untouched, plus why it was rejected.

The value and key are the original bytes and the original headers are kept (so a binary-mode
event keeps its `ce_*` headers); the router appends these headers:

| header | value |
|---|---|
| `dlq-reason` | a reason code from `RejectReason` (for example `missing_storeid`) |
| `dlq-detail` | a human-readable explanation |
| `dlq-topic`, `dlq-partition`, `dlq-offset` | where the record was read |
| `dlq-rejected-at` | when the router rejected it (ISO 8601, UTC) |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

DLQ_HEADERS = (
    "dlq-reason",
    "dlq-detail",
    "dlq-topic",
    "dlq-partition",
    "dlq-offset",
    "dlq-rejected-at",
)
_MAX_DETAIL = 2_000


@dataclass(frozen=True)
class OutgoingRecord:
    """One record to produce."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


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
    return OutgoingRecord(topic=topic, key=record.key, value=record.value, headers=headers)
