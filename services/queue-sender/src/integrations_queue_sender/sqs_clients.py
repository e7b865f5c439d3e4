"""aiobotocore SQS clients, one per (credentials, region, endpoint), shared by integrations.

A client is created on first use and closed when it is retired (its integrations moved to other
credentials) or evicted (least recently used beyond `max_clients`), but never while a request
still holds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session

from integrations_queue_sender.settings import SqsSettings
from integrations_queue_sender.sqs_destination import SqsDestination

ClientKey = tuple[str, str, str, str]


@dataclass
class _Entry:
    client: Any
    stack: AsyncExitStack
    leases: int = 0
    last_used: float = field(default_factory=time.monotonic)
    retired: bool = False


class SqsClientCache:
    """Creates, shares and closes SQS clients."""

    def __init__(self, settings: SqsSettings, *, session: AioSession | None = None) -> None:
        self._settings = settings
        self._session = session or get_session()
        self._config = AioConfig(
            connect_timeout=settings.connect_timeout_s,
            read_timeout=settings.read_timeout_s,
            retries={"total_max_attempts": settings.max_attempts, "mode": "standard"},
            max_pool_connections=settings.max_pool_connections,
        )
        self._entries: dict[ClientKey, _Entry] = {}
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def lease(self, destination: SqsDestination) -> AsyncIterator[Any]:
        """The client for `destination`, held for the block."""
        entry = await self._entry(destination)
        entry.leases += 1
        try:
            yield entry.client
        finally:
            entry.leases -= 1
            entry.last_used = time.monotonic()
            if entry.retired and entry.leases == 0:
                await self._close(entry)

    def retire(self, key: ClientKey) -> None:
        """Stop handing out the client for `key`; it closes once its last request ends."""
        entry = self._entries.pop(key, None)
        if entry is not None:
            entry.retired = True
            if entry.leases == 0:
                task = asyncio.get_running_loop().create_task(self._close(entry))
                task.add_done_callback(_ignore_result)

    async def aclose(self) -> None:
        """Close every client."""
        entries, self._entries = list(self._entries.values()), {}
        for entry in entries:
            await self._close(entry)

    def __len__(self) -> int:
        return len(self._entries)

    async def _entry(self, destination: SqsDestination) -> _Entry:
        key = destination.client_key
        entry = self._entries.get(key)
        if entry is not None:
            return entry
        async with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = await self._create(destination)
                self._entries[key] = entry
                self._evict()
        return entry

    async def _create(self, destination: SqsDestination) -> _Entry:
        stack = AsyncExitStack()
        client = await stack.enter_async_context(
            self._session.create_client(
                "sqs",
                region_name=destination.region,
                endpoint_url=destination.endpoint_url,
                aws_access_key_id=destination.access_key_id,
                aws_secret_access_key=destination.secret_access_key,
                config=self._config,
            )
        )
        return _Entry(client=client, stack=stack)

    def _evict(self) -> None:
        excess = len(self._entries) - self._settings.max_clients
        if excess <= 0:
            return
        idle = sorted(
            (e.last_used, k) for k, e in self._entries.items() if e.leases == 0 and not e.retired
        )
        for _, key in idle[:excess]:
            self.retire(key)

    @staticmethod
    async def _close(entry: _Entry) -> None:
        with contextlib.suppress(Exception):
            await entry.stack.aclose()


def _ignore_result(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()
