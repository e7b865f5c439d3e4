"""Wires the webhook transport into the shared delivery worker."""

from __future__ import annotations

from integrations_common.delivery import DeliveryWorker
from integrations_common.secret_box import SecretBox
from integrations_common.transports import Transport
from integrations_webhook_sender.settings import WebhookSenderSettings
from integrations_webhook_sender.ssrf import AddressPolicy
from integrations_webhook_sender.transport import WebhookTransport


def build_transport(settings: WebhookSenderSettings) -> WebhookTransport:
    """The HTTP transport with the SSRF policy and secret box from `settings`."""
    secrets = (
        SecretBox(settings.encryption) if settings.encryption.keys.get_secret_value() else None
    )
    policy = AddressPolicy(enabled=settings.ssrf.enabled, allow=settings.ssrf.allowed_networks)
    return WebhookTransport(http=settings.http, policy=policy, secrets=secrets)


def build_worker(settings: WebhookSenderSettings) -> DeliveryWorker:
    """The delivery worker of the webhook transport."""
    return DeliveryWorker(
        transport=Transport.WEBHOOK,
        deliverer=build_transport(settings),
        kafka=settings.kafka,
        topics=settings.topics,
        settings=settings.delivery,
    )
