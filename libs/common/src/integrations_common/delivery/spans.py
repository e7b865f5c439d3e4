"""The delivery worker's spans (only built while tracing is on; see `integrations_common.tracing`).

Per job of a batch: an `attempt` span (child of the context in the job record's headers), and
after it, while its outcome is written to Kafka, a `retry` span (the job goes to a tier) or a
`dead letter` span. The attempt log record carries the attempt's context, the tier or
dead-letter record the retry's or dead letter's, so the next attempt and the log writer join
the same trace. No URL, header or body goes into an attribute (they may hold secrets).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from integrations_common.delivery.disposition import Disposition
from integrations_common.delivery.transport import DeliveryOutcome
from integrations_common.jobs import DeliveryJob
from integrations_common.tracing import (
    TRACING,
    Headers,
    context_from_headers,
    headers_of,
    parent_of,
    traceparent_of,
)

_KIND = {"webhook": SpanKind.CLIENT}


class AttemptSpans:
    """The spans of one batch of one transport, in batch order."""

    def __init__(self, transport: str, jobs: Sequence[tuple[DeliveryJob, Headers | None]]) -> None:
        kind = _KIND.get(transport, SpanKind.PRODUCER)
        self._attempts: list[Span] = [
            TRACING.tracer.start_span(
                "attempt",
                context=context_from_headers(headers),
                kind=kind,
                attributes={
                    "integrations.transport": transport,
                    "integrations.integration.id": job.integration.id,
                    "integrations.job.id": job.job_id,
                    "integrations.event.id": job.event.id,
                    "integrations.event.type": job.event.type,
                    "integrations.attempt": job.attempt,
                },
            )
            for job, headers in jobs
        ]
        self._next: list[Span | None] = [None] * len(self._attempts)
        self._ended = False

    def traceparents(self, jobs: Sequence[DeliveryJob]) -> dict[str, str]:
        """Each job's attempt context, for `tracing.job_traceparents`."""
        found: dict[str, str] = {}
        for job, span in zip(jobs, self._attempts, strict=True):
            value = traceparent_of(span)
            if value is not None:
                found[job.job_id] = value
        return found

    def attempted(self, outcomes: Sequence[DeliveryOutcome]) -> None:
        """End the attempt spans with their outcomes."""
        now = time.time_ns()
        for span, outcome in zip(self._attempts, outcomes, strict=True):
            status = (
                "succeeded"
                if outcome.succeeded
                else "handed over"
                if outcome.released
                else "skipped"
                if outcome.skipped
                else "failed"
            )
            span.set_attribute("integrations.status", status)
            if outcome.status_code is not None:
                span.set_attribute("integrations.status_code", outcome.status_code)
            if not outcome.succeeded:
                span.set_status(Status(StatusCode.ERROR, status))
            span.end(end_time=now)

    def disposed(self, dispositions: Sequence[Disposition | None]) -> None:
        """Start a `retry` or `dead letter` span for each job that goes on to another topic
        (None: a job handed over unattempted)."""
        for index, disposition in enumerate(dispositions):
            if disposition is None:
                continue
            job = disposition.next_job
            if disposition.next_topic is None or job is None:
                continue
            attributes: dict[str, str | int] = {
                "messaging.system": "kafka",
                "messaging.destination.name": disposition.next_topic,
                "integrations.job.id": job.job_id,
                "integrations.attempt": job.attempt,
            }
            if disposition.dead_letter is not None:
                name = "dead letter"
                attributes["integrations.dead_letter.reason"] = disposition.dead_letter.value
            else:
                name = "retry"
                if job.not_before is not None:
                    attributes["integrations.not_before"] = job.not_before.isoformat()
            self._next[index] = TRACING.tracer.start_span(
                name,
                context=parent_of(self._attempts[index]),
                kind=SpanKind.PRODUCER,
                attributes=attributes,
            )

    def headers(self, index: int) -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]:
        """Trace headers of job `index`'s log record and of its tier or dead-letter record."""
        following = self._next[index]
        attempt = headers_of(self._attempts[index])
        return attempt, attempt if following is None else headers_of(following)

    def end(self, *, written: bool = True) -> None:
        """End the retry and dead-letter spans once their records are written (or not)."""
        if self._ended:
            return
        self._ended = True
        for span in self._next:
            if span is not None:
                if not written:
                    span.set_status(Status(StatusCode.ERROR, "not written"))
                span.end()
