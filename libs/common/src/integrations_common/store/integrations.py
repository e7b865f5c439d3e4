"""The `integrations` collection: tenant-scoped reads, versioned writes, publishing marks."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, IndexModel

from integrations_common.errors import map_exceptions
from integrations_common.store.mongo import MONGO_ERRORS, Collection, ensure_indexes
from integrations_common.store.records import IntegrationRecord
from integrations_common.tenancy import Tenant

INDEXES = [
    IndexModel(
        [("tenant_key", ASCENDING), ("deleted", ASCENDING), ("created_at", ASCENDING)],
        name="by_tenant",
    ),
    IndexModel([("pending", ASCENDING)], name="pending"),
]


INTEGRATIONS_COLLECTION = "integrations"
MAX_WRITE_ATTEMPTS = 5
"""Versioned writes tried before a change gives up (others changed the document meanwhile)."""


class IntegrationStore:
    """Reads and writes integration documents; a write never crosses tenants."""

    def __init__(self, collection: Collection) -> None:
        self.collection = collection

    async def ensure_indexes(self) -> None:
        """Create the indexes the queries below use."""
        with map_exceptions(MONGO_ERRORS):
            await ensure_indexes(self.collection, INDEXES)

    @staticmethod
    def _visible(tenant: Tenant) -> dict[str, Any]:
        return {"tenant_key": tenant.key, "deleted": False}

    async def insert(self, record: IntegrationRecord) -> None:
        """Store a new integration."""
        with map_exceptions(MONGO_ERRORS):
            await self.collection.insert_one(record.document())

    async def get(self, *, tenant: Tenant, integration_id: str) -> IntegrationRecord | None:
        """The tenant's live integration, or None (also for another tenant's)."""
        with map_exceptions(MONGO_ERRORS):
            doc = await self.collection.find_one({"_id": integration_id, **self._visible(tenant)})
        return IntegrationRecord.model_validate(doc) if doc else None

    async def page(
        self, *, tenant: Tenant, offset: int, limit: int
    ) -> tuple[list[IntegrationRecord], int]:
        """One page of the tenant's integrations, oldest first, and the total."""
        query = self._visible(tenant)
        with map_exceptions(MONGO_ERRORS):
            total = await self.collection.count_documents(query)
            cursor = (
                self.collection.find(query)
                .sort([("created_at", ASCENDING), ("_id", ASCENDING)])
                .skip(offset)
                .limit(limit)
            )
            docs = [doc async for doc in cursor]
        return [IntegrationRecord.model_validate(d) for d in docs], total

    async def replace_version(
        self,
        *,
        previous: IntegrationRecord,
        record: IntegrationRecord,
        event: dict[str, Any] | None,
    ) -> bool:
        """Write `record` over `previous` if nobody changed it meanwhile; queue `event`."""
        changes = {
            k: v for k, v in record.document().items() if k not in ("_id", "outbox", "created_at")
        }
        changes["pending"] = True
        if event is not None:
            changes[f"outbox.{event['id']}"] = event["entry"]
        with map_exceptions(MONGO_ERRORS):
            result = await self.collection.update_one(
                {"_id": previous.id, "version": previous.version, "deleted": False},
                {"$set": changes},
            )
        return result.matched_count == 1

    async def raw(self, integration_id: str) -> IntegrationRecord | None:
        """The document whatever its state (for publishing)."""
        with map_exceptions(MONGO_ERRORS):
            doc = await self.collection.find_one({"_id": integration_id})
        return IntegrationRecord.model_validate(doc) if doc else None

    async def ids(self, *, pending_only: bool) -> list[str]:
        """Ids of the documents still to publish (or of all documents)."""
        query: dict[str, Any] = {"pending": True} if pending_only else {}
        with map_exceptions(MONGO_ERRORS):
            return [d["_id"] async for d in self.collection.find(query, {"_id": 1})]

    async def drop_outbox(self, *, integration_id: str, event_ids: list[str]) -> None:
        """Forget events that have been published."""
        if not event_ids:
            return
        with map_exceptions(MONGO_ERRORS):
            await self.collection.update_one(
                {"_id": integration_id}, {"$unset": {f"outbox.{e}": "" for e in event_ids}}
            )

    async def mark_published(self, *, integration_id: str, version: int) -> bool:
        """Record that `version` is on the config topic, if it is still the current one."""
        with map_exceptions(MONGO_ERRORS):
            result = await self.collection.update_one(
                {"_id": integration_id, "version": version},
                {"$set": {"pending": False, "published_version": version}},
            )
        return result.matched_count == 1

    async def purge(self, *, integration_id: str, version: int) -> bool:
        """Remove a deleted integration whose tombstone is published."""
        with map_exceptions(MONGO_ERRORS):
            result = await self.collection.delete_one(
                {"_id": integration_id, "version": version, "deleted": True}
            )
        return result.deleted_count == 1
