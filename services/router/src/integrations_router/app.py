"""Runs the router as a service: the ops server (ready = table loaded), the worker, SIGTERM."""

from __future__ import annotations

from integrations_common import runner
from integrations_router.router import Router
from integrations_router.settings import RouterSettings

SERVICE = "integrations-router"


async def serve(*, settings: RouterSettings, version: str) -> None:
    """Serve `/healthz`, `/readyz` and `/metrics` and route until SIGTERM or SIGINT."""
    router = Router(settings)
    await runner.serve(
        service=SERVICE,
        version=version,
        ops=settings.ops,
        worker=router.run,
        ready=lambda: router.ready,
    )
