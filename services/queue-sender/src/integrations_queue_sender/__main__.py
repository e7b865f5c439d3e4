"""Entry point: `integrations-queue-sender` or `python -m integrations_queue_sender`."""

from __future__ import annotations

from importlib.metadata import version

from integrations_common.runner import idle_worker, run
from integrations_queue_sender.settings import QueueSenderSettings


def main() -> None:
    """Start the queue sender and run until SIGTERM."""
    settings = QueueSenderSettings()
    run(
        service="integrations-queue-sender",
        version=version("integrations-queue-sender"),
        log_level=settings.log_level,
        ops=settings.ops,
        worker=idle_worker,
    )


if __name__ == "__main__":
    main()
