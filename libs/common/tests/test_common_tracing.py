"""Tracing set-up rules, W3C context helpers and the delivery worker's spans (in-memory SDK)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from integrations_common import tracing
from integrations_common.attempts import AttemptLog, JobStatus
from integrations_common.delivery.disposition import DeadLetterReason, Disposition
from integrations_common.delivery.spans import AttemptSpans
from integrations_common.delivery.transport import DeliveryOutcome
from integrations_common.errors import ConfigurationError
from integrations_common.events import CommerceEvent
from integrations_common.jobs import DeliveryJob
from integrations_testkit.factories import make_integration

pytestmark = pytest.mark.unit

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C
PARENT = f"00-{TRACE_ID:032x}-b7ad6b7169203331-01"


def _job(event_id: str = "ev-1", attempt: int = 1) -> DeliveryJob:
    event = CommerceEvent(
        id=event_id,
        source="https://commerce.example",
        type="order.paid",
        time=T0,
        orgid="org-1",
        storeid="store-1",
        data={"data": {"type": "order", "id": event_id}},
    )
    integration = make_integration(
        integration_id="int-1", configuration={"url": "https://user:pass@receiver.example/hook"}
    )
    job = DeliveryJob.route(event, integration, now=T0)
    return job.model_copy(update={"attempt": attempt})


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, []),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, ["otlp"]),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, ["otlp"]),
        ({"OTEL_TRACES_EXPORTER": "console"}, ["console"]),
        ({"OTEL_TRACES_EXPORTER": "otlp,console"}, ["otlp", "console"]),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c"}, []),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, []),
        ({"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_EXPORTER": "otlp"}, ["otlp"]),
    ],
)
def test_tracing_is_off_unless_the_environment_asks(
    environ: dict[str, str], expected: list[str]
) -> None:
    assert tracing.exporters_from(environ) == expected


def test_off_by_default_and_unsupported_protocols_fail_loudly() -> None:
    assert tracing.configure("test", {}) is False
    assert not tracing.TRACING.enabled
    with pytest.raises(ConfigurationError, match="grpc"):
        tracing.configure(
            "test", {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
        )
    for timeout in ("10000", "0", "soon"):
        with pytest.raises(ConfigurationError, match="OTEL_EXPORTER_OTLP_TIMEOUT"):
            tracing.configure(
                "test",
                {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_TIMEOUT": timeout},
            )
    with pytest.raises(ConfigurationError, match="zipkin"):
        tracing.configure("test", {"OTEL_TRACES_EXPORTER": "zipkin"})
    assert not tracing.TRACING.enabled


def test_traceparent_round_trip_through_kafka_headers(exported: InMemorySpanExporter) -> None:
    parent = tracing.context_from_headers([("traceparent", PARENT.encode())])
    assert parent is not None
    span = tracing.TRACING.tracer.start_span("child", context=parent)
    headers = dict(tracing.headers_of(span))
    span.end()
    value = headers["traceparent"].decode()
    version, trace_id, span_id, flags = value.split("-")
    assert (version, int(trace_id, 16), flags) == ("00", TRACE_ID, "01")
    assert int(span_id, 16) == span.get_span_context().span_id
    assert exported.get_finished_spans()[0].parent.span_id == 0xB7AD6B7169203331  # type: ignore[union-attr]


@pytest.mark.parametrize("value", [None, "", "garbage", "00-" + "0" * 32 + "-b7ad6b7169203331-01"])
def test_missing_or_malformed_traceparent_gives_no_parent(value: str | None) -> None:
    assert tracing.context_from(value) is None


def test_transports_read_each_jobs_traceparent_only_inside_the_attempt() -> None:
    assert tracing.traceparent_for("job-1") is None
    with tracing.job_traceparents({"job-1": PARENT}):
        assert tracing.traceparent_for("job-1") == PARENT
        assert tracing.traceparent_for("job-2") is None
    assert tracing.traceparent_for("job-1") is None


def test_current_headers_are_empty_while_tracing_is_off() -> None:
    assert tracing.current_headers() == []


def _disposition(job: DeliveryJob, status: JobStatus, **kwargs: object) -> Disposition:
    log = AttemptLog.for_job(
        job,
        succeeded=status is JobStatus.SUCCEEDED,
        job_status=status,
        started_at=T0,
        finished_at=T0,
    )
    return Disposition(log=log, **kwargs)  # type: ignore[arg-type]


def test_attempt_retry_and_dead_letter_spans(exported: InMemorySpanExporter) -> None:
    ok, retried, dead = _job("ev-ok"), _job("ev-retry"), _job("ev-dead", attempt=3)
    headers = [("traceparent", PARENT.encode())]
    spans = AttemptSpans("webhook", [(ok, headers), (retried, headers), (dead, None)])
    carried = spans.traceparents([ok, retried, dead])
    assert set(carried) == {ok.job_id, retried.job_id, dead.job_id}
    spans.attempted(
        [
            DeliveryOutcome(succeeded=True, status_code=200),
            DeliveryOutcome(succeeded=False, status_code=503),
            DeliveryOutcome(succeeded=False, status_code=410, give_up=True),
        ]
    )
    later = T0 + timedelta(seconds=5)
    spans.disposed(
        [
            _disposition(ok, JobStatus.SUCCEEDED),
            _disposition(
                retried,
                JobStatus.RETRYING,
                next_topic="d.retry.5s",
                next_job=retried.next_attempt(not_before=later, attempted_at=T0),
            ),
            _disposition(
                dead,
                JobStatus.FAILED,
                next_topic="d.dlq",
                next_job=dead.next_attempt(not_before=T0, attempted_at=T0),
                dead_letter=DeadLetterReason.GAVE_UP,
            ),
        ]
    )
    log_headers, next_headers = spans.headers(1)
    spans.end()
    spans.end(written=False)  # a second end changes nothing

    finished = {
        (s.name, str((s.attributes or {})["integrations.job.id"])): s
        for s in exported.get_finished_spans()
    }
    attempt_ok = finished[("attempt", ok.job_id)]
    attempt_retry = finished[("attempt", retried.job_id)]
    attempt_dead = finished[("attempt", dead.job_id)]
    retry = finished[("retry", retried.job_id)]
    letter = finished[("dead letter", dead.job_id)]
    assert len(finished) == 5
    assert attempt_ok.kind is SpanKind.CLIENT
    assert attempt_ok.context.trace_id == TRACE_ID
    assert attempt_ok.parent is not None
    assert attempt_ok.parent.is_remote
    assert attempt_dead.parent is None  # no context in its record: a new trace
    assert dict(attempt_ok.attributes or {}) == {
        "integrations.transport": "webhook",
        "integrations.integration.id": "int-1",
        "integrations.job.id": ok.job_id,
        "integrations.event.id": "ev-ok",
        "integrations.event.type": "order.paid",
        "integrations.attempt": 1,
        "integrations.status": "succeeded",
        "integrations.status_code": 200,
    }
    assert attempt_retry.status.status_code is StatusCode.ERROR
    assert retry.parent is not None
    assert retry.parent.span_id == attempt_retry.context.span_id
    assert retry.attributes is not None
    assert retry.attributes["integrations.attempt"] == 2
    assert letter.parent is not None
    assert letter.parent.span_id == attempt_dead.context.span_id
    assert letter.attributes is not None
    assert letter.attributes["integrations.dead_letter.reason"] == "gave_up"
    assert letter.status.status_code is StatusCode.UNSET
    assert dict(log_headers)["traceparent"].decode().split("-")[2] == (
        f"{attempt_retry.context.span_id:016x}"
    )
    assert dict(next_headers)["traceparent"].decode().split("-")[2] == (
        f"{retry.context.span_id:016x}"
    )
    for span in finished.values():  # nothing from the configuration (the URL holds a password)
        assert not any("pass" in str(value) for value in (span.attributes or {}).values())
