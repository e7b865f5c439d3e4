"""Test and benchmark support: a recording HTTP receiver and job builders.

Not used by the running service; tests and `make bench-webhook` share it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import SecretStr

from integrations_common.events import CommerceEvent
from integrations_common.integrations import IntegrationSnapshot, IntegrationType
from integrations_common.jobs import DeliveryJob
from integrations_common.secret_box import EncryptionSettings, SecretBox, generate_key

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
class Receiver:
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
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def new_secret_box() -> SecretBox:
    """A box with a fresh key, standing in for the platform's configured keys."""
    return SecretBox(EncryptionSettings(keys=SecretStr(generate_key())))


def make_event(
    event_id: str | None = None, *, event_type: str = "order.paid", store: bool = True
) -> CommerceEvent:
    """An event with a small JSON:API document."""
    resource_type = event_type.split(".", 1)[0]
    resource_id = f"res-{uuid.uuid4().hex[:8]}"
    document: dict[str, Any] = {"data": {"type": resource_type, "id": resource_id}}
    if not event_type.endswith(".deleted"):
        document["data"]["status"] = "complete"
        document["included"] = {"items": [{"type": "order_item", "id": "i-1", "quantity": 1}]}
    return CommerceEvent(
        id=event_id or str(uuid.uuid4()),
        source="https://commerce.example",
        type=event_type,
        time=datetime.now(UTC),
        orgid="org-1",
        storeid="store-1" if store else None,
        data=document,
    )


def make_job(
    url: str,
    *,
    secret: str | None = None,
    box: SecretBox | None = None,
    event: CommerceEvent | None = None,
    integration_id: str | None = None,
) -> DeliveryJob:
    """A first-attempt job for `url`, its secret encrypted like the API stores it."""
    configuration: dict[str, Any] = {"url": url}
    if secret is not None:
        if box is None:
            raise ValueError("a secret needs a box to encrypt it")
        configuration["secret_key"] = box.encrypt(secret)
    event = event or make_event()
    integration = IntegrationSnapshot(
        id=integration_id or str(uuid.uuid4()),
        org_id="org-1",
        store_id=event.storeid,
        name="Order paid notification",
        description="Fire an event on order paid",
        integration_type=IntegrationType.WEBHOOK,
        observes=[event.type],
        configuration=configuration,
        version=1,
        created_at=T0,
        updated_at=T0,
    )
    return DeliveryJob.route(event, integration)


JobFactory = Callable[..., DeliveryJob]
