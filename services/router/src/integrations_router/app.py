"""Runs the router as a service: the ops server (ready = table loaded), the worker, SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal

from integrations_common.ops_server import OpsServer
from integrations_common.runner import BUILD_INFO
from integrations_router.router import Router
from integrations_router.settings import RouterSettings

logger = logging.getLogger(__name__)

SERVICE = "integrations-router"


async def serve(*, settings: RouterSettings, version: str) -> None:
    """Serve `/healthz`, `/readyz` and `/metrics` and route until SIGTERM or SIGINT."""
    BUILD_INFO.info({"service": SERVICE, "version": version})
    router = Router(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = OpsServer(
        service=SERVICE, host=settings.ops.host, port=settings.ops.port, ready=lambda: router.ready
    )
    await server.start()
    logger.info("%s is up", SERVICE, extra={"ops_port": server.port, "version": version})
    try:
        await router.run(stop)
    finally:
        await server.stop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        logger.info("%s stopped", SERVICE)
