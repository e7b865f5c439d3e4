"""OpenTelemetry tracing: set-up from the standard `OTEL_*` variables, and W3C context helpers.

Off by default. It is on when `OTEL_SDK_DISABLED` is not `true` and either
`OTEL_TRACES_EXPORTER` names an exporter (`otlp`, `console`; `none` is off) or an OTLP endpoint
is set (`OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`). The OTLP exporter
speaks HTTP/protobuf; its timeout per request is `OTEL_EXPORTER_OTLP_TIMEOUT`, in seconds as the
Python SDK reads it (10 by default, at most 60). The SDK reads the rest from the environment:
sampling (`OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`; default `parentbased_always_on`),
the exporter's endpoint and headers, the batch processor (`OTEL_BSP_*`), `OTEL_SERVICE_NAME` and
`OTEL_RESOURCE_ATTRIBUTES`.

When off, `TRACING.enabled` is False and call sites skip all tracing work with one check.

The context travels as W3C `traceparent` (and `tracestate`) Kafka headers on every hop; an
input event may carry it instead as the CloudEvents distributed-tracing extension (attribute
`traceparent`, or the `ce_traceparent` header in binary mode). A sender's transport reads the
context of each job's attempt span with `traceparent_for(job_id)`.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from integrations_common.errors import ConfigurationError

if TYPE_CHECKING:  # the SDK is imported when tracing is turned on: a start-up without it is
    # about 50 ms of CPU shorter, which a restarted worker feels (docs/reliability.md)
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

logger = logging.getLogger(__name__)

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
SCOPE = "integrations"
_SUPPORTED_PROTOCOLS = ("http/protobuf", "")
_DEFAULT_TIMEOUT_S = 10.0
_MAX_TIMEOUT_S = 60.0
_PROPAGATOR = TraceContextTextMapPropagator()

Headers = Sequence[tuple[str, bytes]]


class _Tracing:
    """The process's tracing state: `enabled` is the one check on hot paths."""

    def __init__(self) -> None:
        self.enabled = False
        self.provider: TracerProvider | None = None
        self.tracer: trace.Tracer = trace.NoOpTracer()


TRACING = _Tracing()
_JOB_TRACEPARENTS: ContextVar[Mapping[str, str] | None] = ContextVar(
    "job_traceparents", default=None
)


def _flag(environ: Mapping[str, str], name: str) -> bool:
    return environ.get(name, "").strip().lower() == "true"


def exporters_from(environ: Mapping[str, str]) -> list[str]:
    """The span exporters the environment asks for (empty: tracing stays off)."""
    if _flag(environ, "OTEL_SDK_DISABLED"):
        return []
    named = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if named:
        return [n.strip() for n in named.split(",") if n.strip() and n.strip() != "none"]
    endpoints = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    return ["otlp"] if any(environ.get(name, "").strip() for name in endpoints) else []


def _exporter(name: str, environ: Mapping[str, str]) -> SpanExporter:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter  # noqa: PLC0415

        return ConsoleSpanExporter()
    if name != "otlp":
        raise ConfigurationError(f"OTEL_TRACES_EXPORTER={name!r} is not supported; use otlp")
    protocol = environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "")
    ).strip()
    if protocol not in _SUPPORTED_PROTOCOLS:
        raise ConfigurationError(
            f"OTLP protocol {protocol!r} is not supported; use http/protobuf (port 4318)"
        )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
        OTLPSpanExporter,
    )

    return OTLPSpanExporter(timeout=exporter_timeout_seconds(environ))


def exporter_timeout_seconds(environ: Mapping[str, str]) -> float:
    """The exporter's timeout per request. The Python SDK reads `OTEL_EXPORTER_OTLP_TIMEOUT` in
    seconds (the specification says milliseconds), so a value in milliseconds would make an
    export wait for hours: anything above `_MAX_TIMEOUT_S` is refused."""
    name = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"
    if not environ.get(name, "").strip():
        name = "OTEL_EXPORTER_OTLP_TIMEOUT"
    raw = environ.get(name, "").strip() or str(_DEFAULT_TIMEOUT_S)
    try:
        seconds = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a number of seconds") from None
    if not 0 < seconds <= _MAX_TIMEOUT_S:
        raise ConfigurationError(
            f"{name}={raw!r}: the Python SDK reads seconds; use more than 0 and at most "
            f"{_MAX_TIMEOUT_S:.0f}"
        )
    return seconds


def configure(service: str, environ: Mapping[str, str] | None = None) -> bool:
    """Turn tracing on for `service` if the environment asks for it; answer whether it is on.

    Never logs the endpoint or the exporter's headers (they may hold credentials).
    """
    env = os.environ if environ is None else environ
    names = exporters_from(env)
    if not names:
        return False
    attributes: dict[str, str] = {}
    if not env.get("OTEL_SERVICE_NAME") and "service.name=" not in env.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    ):
        attributes["service.name"] = service
    from opentelemetry.sdk.resources import Resource  # noqa: PLC0415
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415

    provider = TracerProvider(resource=Resource.create(attributes))
    for name in names:
        provider.add_span_processor(BatchSpanProcessor(_exporter(name, env)))
    trace.set_tracer_provider(provider)
    install(provider)
    logger.info(
        "tracing on",
        extra={"exporters": names, "sampler": env.get("OTEL_TRACES_SAMPLER", "default")},
    )
    return True


def install(provider: TracerProvider | None, *processors: SpanProcessor) -> None:
    """Use `provider` for the platform's spans (None: off). Tests pass an in-memory one."""
    for processor in processors:
        if provider is not None:
            provider.add_span_processor(processor)
    TRACING.provider = provider
    TRACING.enabled = provider is not None
    TRACING.tracer = provider.get_tracer(SCOPE) if provider is not None else trace.NoOpTracer()


def shutdown() -> None:
    """Export what is buffered and stop (bounded by the exporter's and processor's timeouts)."""
    provider = TRACING.provider
    install(None)
    if provider is not None:
        provider.shutdown()


def context_from(traceparent: str | None, tracestate: str | None = None) -> Context | None:
    """The remote parent a W3C `traceparent` names, or None if it is missing or malformed."""
    if not traceparent:
        return None
    carrier = {TRACEPARENT: traceparent}
    if tracestate:
        carrier[TRACESTATE] = tracestate
    context = _PROPAGATOR.extract(carrier)
    if not trace.get_current_span(context).get_span_context().is_valid:
        return None
    return context


def context_from_headers(headers: Headers | None) -> Context | None:
    """The remote parent in a record's `traceparent` / `tracestate` headers, if any."""
    parent: str | None = None
    state: str | None = None
    for key, raw in headers or ():
        name = key.lower()
        if name == TRACEPARENT:
            parent = raw.decode("ascii", "replace") if raw else None
        elif name == TRACESTATE:
            state = raw.decode("ascii", "replace") if raw else None
    return context_from(parent, state)


def traceparent_of(span: Span) -> str | None:
    """The W3C `traceparent` value that makes a receiver a child of `span`."""
    context = span.get_span_context()
    if not context.is_valid:
        return None
    flags = int(context.trace_flags)
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{flags:02x}"


def headers_of(span: Span) -> list[tuple[str, bytes]]:
    """Kafka headers that carry `span`'s context to the next hop (none for an invalid span)."""
    value = traceparent_of(span)
    if value is None:
        return []
    headers = [(TRACEPARENT, value.encode())]
    state = span.get_span_context().trace_state
    if state:
        headers.append((TRACESTATE, state.to_header().encode()))
    return headers


def current_headers() -> list[tuple[str, bytes]]:
    """Kafka headers that carry the current span's context (none while tracing is off)."""
    return headers_of(trace.get_current_span()) if TRACING.enabled else []


def parent_of(span: Span) -> Context:
    """A context whose current span is `span` (to start children of it)."""
    return trace.set_span_in_context(span)


@contextlib.contextmanager
def job_traceparents(by_job: Mapping[str, str]) -> Iterator[None]:
    """Make each job's attempt context readable by the transport (`traceparent_for`)."""
    token = _JOB_TRACEPARENTS.set(by_job)
    try:
        yield
    finally:
        _JOB_TRACEPARENTS.reset(token)


def traceparent_for(job_id: str) -> str | None:
    """The `traceparent` a transport sends with job `job_id`'s attempt (None: tracing off)."""
    by_job = _JOB_TRACEPARENTS.get()
    return None if by_job is None else by_job.get(job_id)
