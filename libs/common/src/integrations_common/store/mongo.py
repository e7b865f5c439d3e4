"""MongoDB access shared by the API and the log writer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from pymongo import AsyncMongoClient, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError

from integrations_common.errors import ExceptionMapping, StoreUnavailableError
from integrations_common.settings import MongoSettings

logger = logging.getLogger(__name__)

Collection = AsyncCollection[dict[str, Any]]
MONGO_ERRORS: ExceptionMapping = {
    ConnectionFailure: StoreUnavailableError,
    PyMongoError: StoreUnavailableError,
}
NOT_IMPLEMENTED = 238
INDEX_CONFLICTS = (85, 86)


def raise_if_cancelled() -> None:
    """Re-raise the current task's cancellation, if one is under way.

    PyMongo can turn a cancellation that arrives during an operation into a `PyMongoError`
    (`_OperationCancelled`), which the platform maps to `StoreUnavailableError`; a loop that
    retries that error calls this first, or it would go on after being cancelled.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def create_client(settings: MongoSettings) -> AsyncMongoClient[dict[str, Any]]:
    """A client with timezone-aware datetimes whose every operation has a deadline.

    `timeoutMS` bounds each operation, retries included, so a store that stops answering
    (frozen, wedged, partitioned) surfaces as `StoreUnavailableError` instead of a hang.
    """
    return AsyncMongoClient(
        settings.uri.get_secret_value(),
        tz_aware=True,
        serverSelectionTimeoutMS=settings.server_selection_timeout_ms,
        timeoutMS=settings.timeout_ms,
    )


async def ensure_indexes(collection: Collection, indexes: Sequence[IndexModel]) -> None:
    """Create indexes one by one; options the store does not implement are skipped, logged.

    FerretDB, for example, does not implement TTL indexes; retention then relies on the
    log writer's periodic sweep alone.
    """
    for index in indexes:
        try:
            await collection.create_indexes([index])
        except OperationFailure as exc:
            name = index.document.get("name")
            if exc.code == NOT_IMPLEMENTED:
                logger.info(
                    "index option not supported by the store; skipped",
                    extra={"collection": collection.name, "index": name},
                )
            elif exc.code in INDEX_CONFLICTS and name:
                await collection.drop_index(name)
                await collection.create_indexes([index])
            else:
                raise
