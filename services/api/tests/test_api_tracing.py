"""The API's request spans (FastAPI instrumentation) and the context its integration events
carry. In-memory SDK exporter, real HTTP and Kafka."""

from __future__ import annotations

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from .conftest import ServedApi, auth, read_topic, webhook_body

TRACE_ID = 0x5BF92F3577B34DA6A3CE929D0E0E4736
PARENT = f"00-{TRACE_ID:032x}-00f067aa0ba902b7-01"
SECRET = "secret_squirrel_tracing_5678"
STORE = {"store_id": "store-trace", "org_id": "org-trace"}


@pytest.mark.integration
async def test_requests_are_spans_and_their_events_carry_the_trace(
    kafka_bootstrap_servers: str, mongodb_uri: str, exported: InMemorySpanExporter
) -> None:
    body = webhook_body(configuration={"url": "https://example.com/h", "secret_key": SECRET})
    with ServedApi(kafka=kafka_bootstrap_servers, mongodb=mongodb_uri) as api:
        async with httpx.AsyncClient(base_url=api.base_url, timeout=30) as client:
            created = await client.post(
                "/v2/integrations",
                json=body,
                headers={**auth(**STORE), "traceparent": PARENT},
            )
            assert (await client.get("/healthz")).status_code == 200
        assert created.status_code == 200, created.text
        integration_id = created.json()["data"]["id"]
        records = await read_topic(
            kafka_bootstrap_servers,
            api.settings.topics.events,
            until=lambda rs: any(integration_id.encode() in (r.value or b"") for r in rs),
        )
    spans = exported.get_finished_spans()
    [server] = [s for s in spans if s.kind is SpanKind.SERVER]
    assert server.name == "POST /v2/integrations"
    assert server.context.trace_id == TRACE_ID
    assert server.parent is not None
    assert server.parent.span_id == 0x00F067AA0BA902B7
    assert (server.attributes or {}).get("http.status_code", 200) == 200
    for span in spans:  # no token, no secret in any attribute; probes make no spans
        values = " ".join(str(v) for v in (span.attributes or {}).values())
        assert "Bearer" not in values
        assert SECRET not in values
        assert "healthz" not in span.name
    [event] = [r for r in records if integration_id.encode() in (r.value or b"")]
    traceparent = dict(event.headers)["traceparent"].decode()
    assert int(traceparent.split("-")[1], 16) == TRACE_ID
