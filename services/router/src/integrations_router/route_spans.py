"""The router's `route` spans (only built while tracing is on; see `integrations_common.tracing`).

One span per input record, from the moment it is routed until Kafka acknowledged its batch, so
the time a job waits for its batch shows in the trace. Its parent is the record's `traceparent`
header or, failing that, the event's CloudEvents distributed-tracing extension. Every job
record carries the span's context in its `traceparent` header.
"""

from __future__ import annotations

import time
from typing import Any

from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from integrations_common.tracing import TRACING, context_from, context_from_headers, headers_of
from integrations_router.routing import Routed


class RouteSpans:
    """The route spans of one batch."""

    def __init__(self) -> None:
        self._spans: list[Span] = []

    def add(self, record: Any, result: Routed, started_ns: int) -> None:
        """Record the route of `record` (routed from `started_ns`) and tag its jobs."""
        parent = context_from_headers(record.headers)
        event = result.event
        if parent is None and event is not None and event.model_extra:
            extension = event.model_extra.get("traceparent")
            if isinstance(extension, str):
                state = event.model_extra.get("tracestate")
                parent = context_from(extension, state if isinstance(state, str) else None)
        attributes: dict[str, str | int] = {
            "messaging.system": "kafka",
            "messaging.source.name": str(record.topic),
            "messaging.kafka.partition": int(record.partition),
            "messaging.kafka.offset": int(record.offset),
            "integrations.jobs": len(result.transports),
        }
        if event is not None:
            attributes["integrations.event.id"] = event.id
            attributes["integrations.event.type"] = event.type
        span = TRACING.tracer.start_span(
            "route",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes=attributes,
            start_time=started_ns,
        )
        if result.rejected is not None:
            span.set_attribute("integrations.rejected", result.rejected)
            span.set_status(Status(StatusCode.ERROR, result.rejected))
        else:
            carried = headers_of(span)
            for out in result.outgoing:
                out.headers.extend(carried)
        self._spans.append(span)

    def end(self, *, acknowledged: bool = True) -> None:
        """End every span once the batch is acknowledged (or abandoned at a stop)."""
        now = time.time_ns()
        for span in self._spans:
            if not acknowledged:
                span.set_status(Status(StatusCode.ERROR, "stopped before acknowledged"))
            span.end(end_time=now)
        self._spans.clear()
