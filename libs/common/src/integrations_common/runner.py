"""Runs a worker service: logging, the ops server, and a clean stop on SIGTERM or SIGINT.

A second stop signal while the first stop is under way means the stop is stuck: the stacks of
every asyncio task are logged (what it waits for), and the process exits at once with code 1.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from importlib.metadata import version as installed_version
from typing import Protocol

from prometheus_client import Info

from integrations_common import tracing
from integrations_common.log_config import configure_logging
from integrations_common.ops_server import OpsServer, ReadinessCheck
from integrations_common.settings import OpsServerSettings

logger = logging.getLogger(__name__)

Worker = Callable[[asyncio.Event], Awaitable[None]]

BUILD_INFO = Info("integrations_build", "Which service and version this process runs.")


async def serve(
    *,
    service: str,
    version: str,
    ops: OpsServerSettings,
    worker: Worker,
    ready: ReadinessCheck = lambda: True,
) -> None:
    """Serve the ops endpoints and run `worker` until it returns or a stop signal arrives.

    The worker receives the stop event and should return soon after it is set; `ready` answers
    `/readyz`.
    """
    BUILD_INFO.info({"service": service, "version": version})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, _stop_or_give_up, stop)
    server = OpsServer(service=service, host=ops.host, port=ops.port, ready=ready)
    await server.start()
    logger.info("%s is up", service, extra={"ops_port": server.port, "version": version})
    try:
        await worker(stop)
    finally:
        await server.stop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        logger.info("%s stopped", service)


def run(
    *,
    service: str,
    version: str,
    log_level: str,
    ops: OpsServerSettings,
    worker: Worker,
    ready: ReadinessCheck = lambda: True,
) -> None:
    """Entry point body shared by the worker services."""
    configure_logging(log_level)
    tracing.configure(service)
    try:
        asyncio.run(serve(service=service, version=version, ops=ops, worker=worker, ready=ready))
    finally:
        tracing.shutdown()


class ServiceSettings(Protocol):
    """What `run_service` reads from a worker service's settings."""

    @property
    def log_level(self) -> str: ...

    @property
    def ops(self) -> OpsServerSettings: ...


def run_service(
    *,
    package: str,
    settings: ServiceSettings,
    worker: Worker,
    ready: ReadinessCheck = lambda: True,
) -> None:
    """`run` the worker service installed as `package` (its service name and version)."""
    run(
        service=package,
        version=installed_version(package),
        log_level=settings.log_level,
        ops=settings.ops,
        worker=worker,
        ready=ready,
    )


def task_stacks() -> str:
    """The stack of every asyncio task of the running loop (where each one waits)."""
    out = io.StringIO()
    for task in asyncio.all_tasks():
        out.write(f"--- {task.get_name()} ({task.get_coro()!r})\n")
        task.print_stack(file=out)
    return out.getvalue()


def _stop_or_give_up(stop: asyncio.Event) -> None:
    if not stop.is_set():
        stop.set()
        return
    logger.error("a second stop signal while stopping; tasks still running:\n%s", task_stacks())
    logging.shutdown()
    os._exit(1)
