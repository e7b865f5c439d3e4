"""Real destinations for whole-pipeline tests: an HTTP webhook receiver on 127.0.0.1.

The receiver runs an aiohttp server in the test's event loop, records every request exactly as it
arrived (raw body bytes and headers), and answers according to a configurable behaviour, so tests
can make it fail a number of times, fail half of its requests, or hang past the sender's timeout.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from integrations_testkit.network import LocalHttpServer, serve_local


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: bytes
    arrived_at: float
    status: int

    def json(self) -> dict[str, Any]:
        """The body parsed as JSON."""
        document: dict[str, Any] = json.loads(self.body)
        return document


Behaviour = Callable[["ReceivedRequest", int], int]


def always(status: int) -> Behaviour:
    """Answer every request with `status`."""
    return lambda _request, _seen: status


def fail_first(times: int, status: int = 500) -> Behaviour:
    """Fail the first `times` deliveries of each webhook id, then succeed."""
    return lambda _request, seen: status if seen <= times else 200


def fail_randomly(ratio: float, seed: int = 7) -> Behaviour:
    """Fail about `ratio` of all requests with 503."""
    rng = random.Random(seed)
    return lambda _request, _seen: 503 if rng.random() < ratio else 200


@dataclass
class WebhookReceiver(LocalHttpServer):
    """An HTTP receiver bound to 127.0.0.1 on a free port."""

    behaviour: Behaviour = field(default_factory=lambda: always(200))
    hang_seconds: float = 0.0
    requests: list[ReceivedRequest] = field(default_factory=list)
    _seen: dict[str, int] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    port: int = 0

    @property
    def url(self) -> str:
        """The URL integrations should post to."""
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self, port: int = 0) -> None:
        """Start serving (on `port`, to come back where it was; a free port by default)."""
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner, self.port = await serve_local(app, port=port)

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        key = request.headers.get("webhook-id", "")
        self._seen[key] = self._seen.get(key, 0) + 1
        probe = ReceivedRequest(request.path, dict(request.headers), body, time.time(), 0)
        status = self.behaviour(probe, self._seen[key])
        if self.hang_seconds:
            await asyncio.sleep(self.hang_seconds)
        async with self._arrived:
            self.requests.append(
                ReceivedRequest(probe.path, probe.headers, body, probe.arrived_at, status)
            )
            self._arrived.notify_all()
        return web.Response(status=status, text="ok" if status < 300 else "nope")

    async def wait_for(
        self, predicate: Callable[[list[ReceivedRequest]], bool], timeout: float = 30
    ) -> list[ReceivedRequest]:
        """Wait until `predicate(requests)` holds; answer the requests so far."""
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: predicate(self.requests))
        return list(self.requests)
