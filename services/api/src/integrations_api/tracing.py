"""The API's request spans: FastAPI's OpenTelemetry instrumentation, while tracing is on.

Probe and metrics paths make no spans. The instrumentation records the method, route and
status, never request headers (they carry tokens).
"""

from __future__ import annotations

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from integrations_common.tracing import TRACING

EXCLUDED_URLS = "/healthz,/readyz,/metrics"


def instrument(app: FastAPI) -> None:
    """Trace `app`'s requests if tracing is on (`integrations_common.tracing.configure`)."""
    if TRACING.enabled:
        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=TRACING.provider, excluded_urls=EXCLUDED_URLS
        )
