"""The log writer's `log write` spans (only built while tracing is on).

One span per attempt-log record, child of the attempt whose context the record's headers carry,
from the moment its batch was read until the batch is stored, so each event's trace ends with
the write that makes its attempt readable through the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from integrations_common.tracing import TRACING, context_from_headers


def start_log_writes(records: Sequence[Any], *, batch: int) -> list[Span]:
    """One `log write` span per record (`batch`: the records stored together)."""
    return [
        TRACING.tracer.start_span(
            "log write",
            context=context_from_headers(record.headers),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.source.name": str(record.topic),
                "messaging.kafka.partition": int(record.partition),
                "messaging.kafka.offset": int(record.offset),
                "integrations.log_writer.batch": batch,
            },
        )
        for record in records
    ]


def end_log_writes(spans: Sequence[Span], *, stored: bool) -> None:
    """End the spans once the batch is stored (or given up at a stop)."""
    for span in spans:
        if not stored:
            span.set_status(Status(StatusCode.ERROR, "not stored"))
        span.end()
