"""A recording HTTP receiver that answers by path, for webhook tests and benchmarks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from integrations_testkit.network import LocalHttpServer, serve_local

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        """The body, parsed."""
        document: dict[str, Any] = json.loads(self.body)
        return document


Handler = Callable[[web.Request, Received], Awaitable[web.StreamResponse]]


@dataclass
class Receiver(LocalHttpServer):
    """An aiohttp server that records every request and answers by path prefix."""

    base_url: str = ""
    requests: list[Received] = field(default_factory=list)
    routes: dict[str, Handler] = field(default_factory=dict)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    _runner: web.AppRunner | None = None

    def url(self, path: str) -> str:
        """The receiver's URL for `path`."""
        return f"{self.base_url}{path}"

    async def wait_for(self, count: int, *, timeout: float = 60) -> list[Received]:
        """Wait until `count` requests arrived; answer them all."""
        async with asyncio.timeout(timeout), self.arrived:
            await self.arrived.wait_for(lambda: len(self.requests) >= count)
        return list(self.requests)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Record the request, then answer with the first matching route (default 204)."""
        received = Received(request.path, dict(request.headers), await request.read())
        async with self.arrived:
            self.requests.append(received)
            self.arrived.notify_all()
        for prefix, handler in self.routes.items():
            if request.path.startswith(prefix):
                return await handler(request, received)
        return web.Response(status=204)

    async def start(self) -> None:
        """Listen on an ephemeral port of 127.0.0.1."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self._runner, port = await serve_local(app, shutdown_timeout=0.1)
        self.base_url = f"http://127.0.0.1:{port}"
