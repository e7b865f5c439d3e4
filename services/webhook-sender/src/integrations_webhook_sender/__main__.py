"""Entry point: `integrations-webhook-sender` or `python -m integrations_webhook_sender`."""

from __future__ import annotations

import functools

from integrations_common.runner import run_service
from integrations_webhook_sender.app import run_sender
from integrations_webhook_sender.settings import WebhookSenderSettings


def main() -> None:
    """Start the webhook sender and run until SIGTERM."""
    settings = WebhookSenderSettings()
    worker = functools.partial(run_sender, settings)
    run_service(package="integrations-webhook-sender", settings=settings, worker=worker)


if __name__ == "__main__":
    main()
