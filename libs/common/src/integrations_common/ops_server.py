"""A minimal HTTP server for the operational endpoints `/healthz`, `/readyz` and `/metrics`.

The router and the senders are Kafka workers with no web framework; this gives them probes
and Prometheus scraping with nothing but asyncio.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

logger = logging.getLogger(__name__)

ReadinessCheck = Callable[[], bool]
_MAX_REQUEST_LINE = 8192
_READ_TIMEOUT_S = 5.0


class OpsServer:
    """Serves liveness, readiness and metrics on one port."""

    def __init__(
        self,
        *,
        service: str,
        host: str,
        port: int,
        ready: ReadinessCheck = lambda: True,
        registry: CollectorRegistry = REGISTRY,
    ) -> None:
        self._service = service
        self._host = host
        self._port = port
        self._ready = ready
        self._registry = registry
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The bound port (useful when configured as 0)."""
        if self._server is None or not self._server.sockets:
            return self._port
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        """Bind and start serving in the background."""
        self._server = await asyncio.start_server(self._handle, self._host, self._port)

    async def stop(self) -> None:
        """Stop accepting and close the listening socket."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(_READ_TIMEOUT_S):
                request_line = await reader.readline()
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
            status, content_type, body = self._respond(request_line[:_MAX_REQUEST_LINE])
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode("latin-1") + body)
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _respond(self, request_line: bytes) -> tuple[str, str, bytes]:
        parts = request_line.decode("latin-1").split()
        if len(parts) < 2 or parts[0] not in ("GET", "HEAD"):
            return _json("405 Method Not Allowed", 405, "Only GET is served here.")
        path = parts[1].split("?", 1)[0]
        if path == "/healthz":
            return "200 OK", "application/json", _body({"status": "ok", "service": self._service})
        if path == "/readyz":
            if self._ready():
                return "200 OK", "application/json", _body({"status": "ready"})
            return _json("503 Service Unavailable", 503, f"{self._service} is not ready yet.")
        if path == "/metrics":
            return "200 OK", CONTENT_TYPE_LATEST, generate_latest(self._registry)
        return _json("404 Not Found", 404, f"No route for {path}.")


def _body(document: object) -> bytes:
    return json.dumps(document).encode()


def _json(status: str, code: int, detail: str) -> tuple[str, str, bytes]:
    title = status.split(" ", 1)[1]
    document = {"errors": [{"status": code, "title": title, "detail": detail}]}
    return status, "application/json", _body(document)
