"""Entry point: `integrations-queue-sender` or `python -m integrations_queue_sender`."""

from __future__ import annotations

import asyncio

from integrations_common.runner import run_service
from integrations_queue_sender.settings import QueueSenderSettings
from integrations_queue_sender.worker import build_workers, run_workers


def main() -> None:
    """Start the SQS and STOMP delivery workers and run until SIGTERM; `/readyz` answers 200
    while every one of them is ready."""
    settings = QueueSenderSettings()
    workers = build_workers(settings)

    async def worker(stop: asyncio.Event) -> None:
        await run_workers(stop, workers=workers)

    run_service(
        package="integrations-queue-sender",
        settings=settings,
        worker=worker,
        ready=lambda: all(w.ready for w in workers),
    )


if __name__ == "__main__":
    main()
