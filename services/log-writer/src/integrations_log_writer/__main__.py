"""Entry point of the log writer: `integrations-log-writer`."""

from __future__ import annotations

import asyncio

from integrations_common.runner import run_service
from integrations_log_writer.settings import LogWriterSettings
from integrations_log_writer.worker import Readiness, run_log_writer


def main() -> None:
    """Start the log writer and run until SIGTERM."""
    settings = LogWriterSettings()
    readiness = Readiness()

    async def worker(stop: asyncio.Event) -> None:
        await run_log_writer(settings, stop, readiness=readiness)

    run_service(
        package="integrations-log-writer", settings=settings, worker=worker, ready=readiness
    )


if __name__ == "__main__":
    main()
