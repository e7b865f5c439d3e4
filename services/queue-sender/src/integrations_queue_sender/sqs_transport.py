"""Delivers jobs to AWS SQS queues (or ElasticMQ locally), batching per queue.

Jobs of one `deliver` call that target the same queue with the same credentials go out in
`SendMessageBatch` calls of up to ten entries; every entry's own result decides its job's
outcome, so one rejected entry fails only its job. A lone job goes out with `SendMessage`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from botocore.exceptions import ClientError

from integrations_common.delivery.transport import DeliveryOutcome, may_start, not_started
from integrations_common.integrations import IntegrationSnapshot
from integrations_common.jobs import DeliveryJob, utc_now
from integrations_common.secret_box import SecretBox
from integrations_queue_sender.destinations import DestinationRegistry
from integrations_queue_sender.errors import failure
from integrations_queue_sender.limits import KeyedLimiter
from integrations_queue_sender.message import CONTENT_TYPE, message_body, resource_id
from integrations_queue_sender.settings import SqsSettings
from integrations_queue_sender.sqs_clients import SqsClientCache
from integrations_queue_sender.sqs_destination import SqsDestination, resolve_sqs_destination
from integrations_queue_sender.sqs_errors import client_error, entry_error, transport_error
from integrations_queue_sender.timing import stamped

logger = logging.getLogger(__name__)

MAX_BATCH_ENTRIES = 10
MAX_GROUP_ID_LENGTH = 128
_GROUP_ID_UNSAFE = re.compile(r"[^A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]")
_HTTP_OK = 200


@dataclass(frozen=True)
class _Item:
    index: int
    job: DeliveryJob
    destination: SqsDestination
    body: str

    @property
    def size(self) -> int:
        return len(self.body.encode()) + 256  # the body plus a generous bound for attributes


def message_attributes(job: DeliveryJob) -> dict[str, dict[str, str]]:
    """SQS message attributes: the event's id and type, and the body's content type."""
    return {
        "ce-id": {"DataType": "String", "StringValue": job.event.id},
        "ce-type": {"DataType": "String", "StringValue": job.event.type},
        "content-type": {"DataType": "String", "StringValue": CONTENT_TYPE},
    }


def fifo_ids(job: DeliveryJob) -> dict[str, str]:
    """A FIFO queue's group (the resource, so its events stay in order) and deduplication ids."""
    group = _GROUP_ID_UNSAFE.sub("_", resource_id(job))[:MAX_GROUP_ID_LENGTH]
    return {"MessageGroupId": group, "MessageDeduplicationId": job.job_id}


def _message(item: _Item) -> dict[str, Any]:
    message: dict[str, Any] = {
        "MessageBody": item.body,
        "MessageAttributes": message_attributes(item.job),
    }
    if item.destination.fifo:
        message.update(fifo_ids(item.job))
    return message


def _sent(message_id: object) -> DeliveryOutcome:
    body = json.dumps({"MessageId": message_id}).encode()
    return DeliveryOutcome(succeeded=True, status_code=_HTTP_OK, body=body)


class SqsTransport:
    """The `DeliveryTransport` for `aws_sqs` integrations."""

    def __init__(
        self, *, settings: SqsSettings, box: SecretBox, clients: SqsClientCache | None = None
    ) -> None:
        self._settings = settings
        self._clients = clients or SqsClientCache(settings)
        self._destinations: DestinationRegistry[SqsDestination] = DestinationRegistry(
            partial(_resolve, box=box, endpoint_override=settings.endpoint_url),
            on_replace=self._replaced,
        )
        self._limiter = KeyedLimiter(settings.concurrency_per_queue)

    async def deliver(self, jobs: Sequence[DeliveryJob]) -> Sequence[DeliveryOutcome]:
        """Send every job; one outcome per job, in order."""
        outcomes: list[DeliveryOutcome | None] = [None] * len(jobs)
        queues: dict[tuple[tuple[str, ...], str], list[_Item]] = {}
        for index, job, destination in self._destinations.resolve_batch(jobs, outcomes):
            key = (destination.client_key, destination.queue_url)
            queues.setdefault(key, []).append(_Item(index, job, destination, message_body(job)))
        units = [(key, chunk) for key, items in queues.items() for chunk in self._chunks(items)]
        await asyncio.gather(*(self._send_unit(key, chunk, outcomes) for key, chunk in units))
        return [o if o is not None else _unreported() for o in outcomes]

    async def aclose(self) -> None:
        """Close every client."""
        await self._clients.aclose()

    def _chunks(self, items: list[_Item]) -> list[list[_Item]]:
        if not self._settings.batching:
            return [[item] for item in items]
        chunks: list[list[_Item]] = []
        current: list[_Item] = []
        size = 0
        for item in items:
            full = len(current) == MAX_BATCH_ENTRIES
            if current and (full or size + item.size > self._settings.max_batch_bytes):
                chunks.append(current)
                current, size = [], 0
            current.append(item)
            size += item.size
        if current:
            chunks.append(current)
        return chunks

    async def _send_unit(
        self, key: object, chunk: list[_Item], outcomes: list[DeliveryOutcome | None]
    ) -> None:
        async with self._limiter.hold(key):
            if not may_start():  # handed back while waiting for a slot (a revoke or a stop)
                for item in chunk:
                    outcomes[item.index] = not_started()
                return
            started = utc_now()
            await self._attempt(chunk, outcomes)
            finished = utc_now()
        for item in chunk:
            outcome = outcomes[item.index]
            if outcome is not None:
                outcomes[item.index] = stamped(outcome, started_at=started, finished_at=finished)

    async def _attempt(self, chunk: list[_Item], outcomes: list[DeliveryOutcome | None]) -> None:
        destination = chunk[0].destination
        try:
            async with self._clients.lease(destination) as client:
                if len(chunk) == 1:
                    await self._send_one(client, chunk[0], outcomes)
                else:
                    await self._send_batch(client, chunk, outcomes)
        except ClientError as error:
            mapped = client_error(
                error, queue_url=destination.queue_url, access_key_id=destination.access_key_id
            )
            for item in chunk:
                outcomes[item.index] = failure(mapped)
        except Exception as error:  # every failure becomes an outcome
            mapped = transport_error(error, endpoint_url=destination.endpoint_url)
            logger.warning("sqs send failed: %s", mapped.detail)
            for item in chunk:
                outcomes[item.index] = failure(mapped)

    @staticmethod
    async def _send_one(client: Any, item: _Item, outcomes: list[DeliveryOutcome | None]) -> None:
        response = await client.send_message(QueueUrl=item.destination.queue_url, **_message(item))
        outcomes[item.index] = _sent(response.get("MessageId"))

    @staticmethod
    async def _send_batch(
        client: Any, chunk: list[_Item], outcomes: list[DeliveryOutcome | None]
    ) -> None:
        entries = [{"Id": str(n), **_message(item)} for n, item in enumerate(chunk)]
        response = await client.send_message_batch(
            QueueUrl=chunk[0].destination.queue_url, Entries=entries
        )
        for entry in response.get("Successful", []):
            outcomes[chunk[int(entry["Id"])].index] = _sent(entry.get("MessageId"))
        for entry in response.get("Failed", []):
            error = entry_error(
                str(entry.get("Code", "Unknown")),
                str(entry.get("Message", "")).strip(),
                sender_fault=bool(entry.get("SenderFault")),
            )
            outcomes[chunk[int(entry["Id"])].index] = failure(error)

    def _replaced(self, old: SqsDestination) -> None:
        if all(d.client_key != old.client_key for d in self._destinations.destinations()):
            self._clients.retire(old.client_key)


def _resolve(
    integration: IntegrationSnapshot, *, box: SecretBox, endpoint_override: str | None
) -> SqsDestination:
    return resolve_sqs_destination(integration, box=box, endpoint_override=endpoint_override)


def _unreported() -> DeliveryOutcome:
    return DeliveryOutcome(succeeded=False, error_detail="SQS did not report on this message")
