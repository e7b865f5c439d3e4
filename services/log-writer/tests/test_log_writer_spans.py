"""The log writer's `log write` spans join the attempts whose records they store."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from integrations_log_writer.spans import end_log_writes, start_log_writes

TRACE_ID = 0x5BF92F3577B34DA6A3CE929D0E0E4736
PARENT = f"00-{TRACE_ID:032x}-00f067aa0ba902b7-01"


@dataclass
class _Record:
    offset: int
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    topic: str = "integrations.logs"
    partition: int = 0


@pytest.mark.unit
def test_log_write_spans_join_their_attempts(exported: InMemorySpanExporter) -> None:
    records = [_Record(0, [("traceparent", PARENT.encode())]), _Record(1)]
    spans = start_log_writes(records, batch=2)
    end_log_writes(spans, stored=False)
    traced, untraced = sorted(
        exported.get_finished_spans(),
        key=lambda s: int((s.attributes or {})["messaging.kafka.offset"]),  # type: ignore[arg-type]
    )
    assert traced.name == "log write"
    assert traced.context.trace_id == TRACE_ID
    assert untraced.parent is None
    assert traced.status.status_code is StatusCode.ERROR
    assert (traced.attributes or {})["integrations.log_writer.batch"] == 2
