"""The queue sender's work: one shared `DeliveryWorker` per transport (SQS, STOMP) in one process.

Each worker has its own consumer group, retry tiers, dead-letter topic and metric label; the
shared machinery in `integrations_common.delivery` does the consuming, attempt logs, retries and
commits, and these transports only deliver.
"""

from __future__ import annotations

import asyncio
import logging

from integrations_common.address_policy import AddressPolicy
from integrations_common.delivery import DeliverySettings, DeliveryTransport, DeliveryWorker
from integrations_common.secret_box import SecretBox
from integrations_common.transports import Transport
from integrations_queue_sender.address_guard import check_endpoint
from integrations_queue_sender.errors import BlockedAddressError, InvalidConfigurationError
from integrations_queue_sender.settings import QueueSenderSettings
from integrations_queue_sender.sqs_transport import SqsTransport
from integrations_queue_sender.stomp_transport import StompTransport

logger = logging.getLogger(__name__)


def _transport(kind: Transport, settings: QueueSenderSettings, box: SecretBox) -> DeliveryTransport:
    policy = settings.ssrf.policy()
    if kind is Transport.SQS:
        if settings.sqs.endpoint_url is not None:
            _check_endpoint_override(settings.sqs.endpoint_url, policy)
        return SqsTransport(settings=settings.sqs, box=box)
    if kind is Transport.STOMP:
        return StompTransport(settings=settings.stomp, box=box, policy=policy)
    raise ValueError(f"the queue sender does not deliver {kind.value}")


def _check_endpoint_override(url: str, policy: AddressPolicy) -> None:
    try:
        check_endpoint(url, policy=policy)
    except BlockedAddressError as exc:
        raise InvalidConfigurationError(
            f"QUEUE_SENDER_SQS__ENDPOINT_URL: {exc}. An override is for local and test use; "
            "allow its range with QUEUE_SENDER_SSRF__ALLOW_CIDRS"
        ) from exc


def _delivery_settings(settings: DeliverySettings, kind: Transport) -> DeliverySettings:
    """A configured consumer group gets the transport as suffix: each worker has its own group."""
    if settings.consumer_group is None:
        return settings
    return settings.model_copy(update={"consumer_group": f"{settings.consumer_group}-{kind.value}"})


def build_workers(settings: QueueSenderSettings) -> list[DeliveryWorker]:
    """One worker per configured transport, sharing one secret box."""
    box = SecretBox(settings.encryption)
    return [
        DeliveryWorker(
            transport=kind,
            deliverer=_transport(kind, settings, box),
            kafka=settings.kafka,
            topics=settings.topics,
            settings=_delivery_settings(settings.delivery, kind),
        )
        for kind in settings.transports
    ]


async def run_workers(stop: asyncio.Event, *, workers: list[DeliveryWorker]) -> None:
    """Run every worker until `stop`; if one fails, stop the others and raise its error."""
    tasks = [asyncio.create_task(worker.run(stop)) for worker in workers]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        stop.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
