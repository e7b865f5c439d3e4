"""Delivers jobs to STOMP brokers, one reused connection per integration.

Every SEND is persistent and asks for a receipt; a job succeeds only when its RECEIPT frame
arrives within `receipt_timeout_s`. Blocking stomp.py calls run in two small bounded pools, one
for connecting (which a dead broker can occupy for up to `connect_timeout_s` per address) and one
for sending, so the event loop never blocks and a dead broker cannot starve live ones of sends.
A failed connect is not retried for `reconnect_backoff_s` (its jobs fail at once with the same
detail); a connection that died, missed a receipt or belongs to an older configuration version is
dropped and a new one opened on the next attempt.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from integrations_common.address_policy import AddressPolicy
from integrations_common.delivery.transport import DeliveryOutcome, may_start, not_started
from integrations_common.jobs import DeliveryJob, utc_now
from integrations_common.secret_box import SecretBox
from integrations_queue_sender.destinations import DestinationRegistry
from integrations_queue_sender.errors import DestinationUnavailableError, QueueSenderError, failure
from integrations_queue_sender.limits import KeyedLimiter
from integrations_queue_sender.message import CONTENT_TYPE, message_body
from integrations_queue_sender.settings import StompSettings
from integrations_queue_sender.stomp_destination import StompDestination, resolve_stomp_destination
from integrations_queue_sender.stomp_link import Frame, StompLink
from integrations_queue_sender.timing import stamped

logger = logging.getLogger(__name__)

_SWEEP_EVERY_S = 10.0
T = TypeVar("T")


@dataclass
class _Slot:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    link: StompLink | None = None
    failure: QueueSenderError | None = None
    failed_at: float = 0.0


def frame_headers(receipt: str) -> dict[str, str]:
    """The headers of every SEND: persistent, CloudEvents content type, and a receipt request."""
    return {"persistent": "true", "content-type": CONTENT_TYPE, "receipt": receipt}


class StompTransport:
    """The `DeliveryTransport` for `stomp` integrations."""

    def __init__(
        self, *, settings: StompSettings, box: SecretBox, policy: AddressPolicy | None = None
    ) -> None:
        self._settings = settings
        self._policy = policy if policy is not None else AddressPolicy()
        self._connect_pool = ThreadPoolExecutor(settings.connect_threads, "stomp-connect")
        self._send_pool = ThreadPoolExecutor(settings.send_threads, "stomp-send")
        self._destinations: DestinationRegistry[StompDestination] = DestinationRegistry(
            partial(resolve_stomp_destination, box=box)
        )
        self._slots: dict[str, _Slot] = {}
        self._limiter = KeyedLimiter(settings.concurrency_per_destination)
        self._background: set[asyncio.Task[None]] = set()
        self._last_sweep = time.monotonic()

    @property
    def open_connections(self) -> int:
        """How many broker connections are open."""
        return sum(1 for s in self._slots.values() if s.link is not None and s.link.alive)

    async def deliver(self, jobs: Sequence[DeliveryJob]) -> Sequence[DeliveryOutcome]:
        """Send every job; one outcome per job, in order."""
        outcomes: list[DeliveryOutcome | None] = [None] * len(jobs)
        groups: dict[str, tuple[StompDestination, list[int]]] = {}
        for index, _, destination in self._destinations.resolve_batch(jobs, outcomes):
            groups.setdefault(destination.integration_id, (destination, []))[1].append(index)
        size = self._settings.batch_size
        await asyncio.gather(
            *(
                self._send_chunk(destination, indices[start : start + size], jobs, outcomes)
                for destination, indices in groups.values()
                for start in range(0, len(indices), size)
            )
        )
        self._sweep()
        return [
            o if o is not None else DeliveryOutcome(succeeded=False, error_detail="not attempted")
            for o in outcomes
        ]

    async def aclose(self) -> None:
        """Close every connection and stop the thread pools."""
        links = [s.link for s in self._slots.values() if s.link is not None]
        self._slots.clear()
        await asyncio.gather(*(self._blocking(self._connect_pool, link.close) for link in links))
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        self._connect_pool.shutdown(wait=False, cancel_futures=True)
        self._send_pool.shutdown(wait=False, cancel_futures=True)

    async def _send_chunk(
        self,
        destination: StompDestination,
        indices: list[int],
        jobs: Sequence[DeliveryJob],
        outcomes: list[DeliveryOutcome | None],
    ) -> None:
        async with self._limiter.hold(destination.integration_id):
            if not may_start():  # handed back while waiting for a slot (a revoke or a stop)
                for index in indices:
                    outcomes[index] = not_started()
                return
            started = utc_now()
            try:
                link = await self._link(destination)
            except QueueSenderError as refused:
                for index in indices:
                    outcomes[index] = stamped(failure(refused), started_at=started)
                return
            receipts = [link.expect() for _ in indices]
            frames: list[Frame] = [
                (message_body(jobs[index]).encode(), frame_headers(receipt))
                for index, (receipt, _) in zip(indices, receipts, strict=True)
            ]
            sent, error = await self._blocking(
                self._send_pool, partial(link.send_all, destination.destination, frames)
            )
            for index, (receipt, future) in zip(indices[sent:], receipts[sent:], strict=True):
                link.forget(receipt)
                future.cancel()
                unsent = DestinationUnavailableError(
                    f"sending to the STOMP broker at {link.broker} failed ({error})"
                )
                outcomes[index] = stamped(failure(unsent), started_at=started)
            answers = await asyncio.gather(
                *(self._receipt(link, receipt, future) for receipt, future in receipts[:sent])
            )
            for index, outcome in zip(indices[:sent], answers, strict=True):
                outcomes[index] = stamped(
                    outcome, started_at=started, finished_at=outcome.finished_at
                )

    async def _receipt(
        self, link: StompLink, receipt: str, future: asyncio.Future[None]
    ) -> DeliveryOutcome:
        timeout = self._settings.receipt_timeout_s
        try:
            async with asyncio.timeout(timeout):
                await future
        except TimeoutError:
            link.forget(receipt)
            link.alive = False  # a broker that misses receipts is not trusted with more
            return failure(
                DestinationUnavailableError(
                    f"no receipt from the STOMP broker at {link.broker} within {timeout:g}s"
                )
            )
        except QueueSenderError as error:
            return failure(error)
        body = json.dumps({"receipt": receipt, "broker": link.broker}).encode()
        return DeliveryOutcome(succeeded=True, body=body, finished_at=utc_now())

    async def _link(self, destination: StompDestination) -> StompLink:
        slot = self._slots.get(destination.integration_id)
        if slot is None:
            slot = self._slots[destination.integration_id] = _Slot()
        async with slot.lock:
            link = slot.link
            if link is not None and (
                not link.alive or link.destination.version != destination.version
            ):
                slot.link = None
                self._close_later(link)
            if slot.link is None:
                backoff = self._settings.reconnect_backoff_s
                if slot.failure is not None and time.monotonic() - slot.failed_at < backoff:
                    raise slot.failure.with_traceback(None)
                slot.link = await self._open(destination, slot)
            slot.link.last_used = time.monotonic()
            return slot.link

    async def _open(self, destination: StompDestination, slot: _Slot) -> StompLink:
        link = StompLink(
            destination,
            settings=self._settings,
            loop=asyncio.get_running_loop(),
            policy=self._policy,
        )
        try:
            await self._blocking(self._connect_pool, link.open)
        except QueueSenderError as error:
            slot.failure, slot.failed_at = error, time.monotonic()
            logger.info(
                "stomp connect failed",
                extra={"integration_id": destination.integration_id, "detail": error.detail},
            )
            raise
        except BaseException:
            self._close_later(link)  # cancelled mid-connect: do not leak the connection
            raise
        slot.failure = None
        return link

    def _close_later(self, link: StompLink) -> None:
        task = asyncio.get_running_loop().create_task(
            self._blocking(self._connect_pool, link.close)
        )
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _blocking(self, pool: ThreadPoolExecutor, call: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(pool, call)

    def _sweep(self) -> None:
        """Close idle connections, and the least recently used beyond `max_connections`."""
        now = time.monotonic()
        if now - self._last_sweep < _SWEEP_EVERY_S:
            return
        self._last_sweep = now
        idle = sorted(
            (slot.link.last_used, key)
            for key, slot in self._slots.items()
            if slot.link is not None and not slot.lock.locked()
        )
        excess = max(0, len(idle) - self._settings.max_connections)
        for position, (last_used, key) in enumerate(idle):
            if position < excess or now - last_used > self._settings.idle_timeout_s:
                slot = self._slots.pop(key)
                if slot.link is not None:
                    self._close_later(slot.link)
        backoff = self._settings.reconnect_backoff_s
        for key, slot in list(self._slots.items()):
            if slot.link is None and not slot.lock.locked() and now - slot.failed_at > backoff:
                del self._slots[key]
