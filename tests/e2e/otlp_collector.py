"""A small OpenTelemetry collector for tests: OTLP over HTTP (protobuf), spans kept in memory.

The services export to it with their real OTLP/HTTP exporter (`OTEL_EXPORTER_OTLP_ENDPOINT`
set to `endpoint`); it decodes each `ExportTraceServiceRequest` with opentelemetry-proto.
"""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from integrations_testkit.network import LocalHttpServer, serve_local


@dataclass(frozen=True)
class CollectedSpan:
    """One span as received."""

    service: str
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    start_ns: int
    end_ns: int
    status: int
    attributes: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The span as a JSON object."""
        return asdict(self)


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    return None if kind is None else getattr(value, kind)


def _decoded(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body


@dataclass
class OtlpCollector(LocalHttpServer):
    """Serves `POST /v1/traces` on 127.0.0.1 (an ephemeral port)."""

    spans: list[CollectedSpan] = field(default_factory=list)
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    _runner: web.AppRunner | None = None
    port: int = 0

    @property
    def endpoint(self) -> str:
        """The value for `OTEL_EXPORTER_OTLP_ENDPOINT`."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Start serving."""
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_post("/v1/traces", self._export)
        self._runner, self.port = await serve_local(app, shutdown_timeout=0.1)

    async def _export(self, request: web.Request) -> web.Response:
        body = _decoded(await request.read(), request.headers.get("Content-Encoding", ""))
        message = ExportTraceServiceRequest()
        message.ParseFromString(body)
        received: list[CollectedSpan] = []
        for resource_spans in message.resource_spans:
            resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
            service = str(resource.get("service.name", ""))
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    received.append(
                        CollectedSpan(
                            service=service,
                            name=span.name,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex(),
                            start_ns=span.start_time_unix_nano,
                            end_ns=span.end_time_unix_nano,
                            status=span.status.code,
                            attributes={a.key: _value(a.value) for a in span.attributes},
                        )
                    )
        async with self._arrived:
            self.spans.extend(received)
            self._arrived.notify_all()
        return web.Response(
            body=ExportTraceServiceResponse().SerializeToString(),
            content_type="application/x-protobuf",
        )

    async def wait_for(
        self, predicate: Callable[[list[CollectedSpan]], bool], timeout: float = 60
    ) -> list[CollectedSpan]:
        """Wait until `predicate(spans)` holds; answer the spans so far."""
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: predicate(self.spans))
        return list(self.spans)
