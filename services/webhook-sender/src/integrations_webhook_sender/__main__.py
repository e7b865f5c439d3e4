"""Entry point: `integrations-webhook-sender` or `python -m integrations_webhook_sender`."""

from __future__ import annotations

import functools
from importlib.metadata import version

from integrations_common.runner import run
from integrations_webhook_sender.app import run_sender
from integrations_webhook_sender.settings import WebhookSenderSettings


def main() -> None:
    """Start the webhook sender and run until SIGTERM."""
    settings = WebhookSenderSettings()
    worker = functools.partial(run_sender, settings)
    run(
        service="integrations-webhook-sender",
        version=version("integrations-webhook-sender"),
        log_level=settings.log_level,
        ops=settings.ops,
        worker=worker,
    )


if __name__ == "__main__":
    main()
