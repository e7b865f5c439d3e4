"""Entry point: `integrations-webhook-sender` or `python -m integrations_webhook_sender`."""

from __future__ import annotations

from integrations_common.runner import run_service
from integrations_webhook_sender.app import build_worker
from integrations_webhook_sender.settings import WebhookSenderSettings


def main() -> None:
    """Start the webhook sender and run until SIGTERM; `/readyz` follows its delivery worker."""
    settings = WebhookSenderSettings()
    worker = build_worker(settings)
    run_service(
        package="integrations-webhook-sender",
        settings=settings,
        worker=worker.run,
        ready=lambda: worker.ready,
    )


if __name__ == "__main__":
    main()
