"""The `integration_health` collection: one document per integration that is failing.

`failing_since` is the end of the first failed attempt after the last success; `failed_jobs`
counts the jobs that failed for good (dead-lettered) since then. A success removes the document;
so does enabling the integration again through the API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ReturnDocument

from integrations_api.mongo import MONGO_ERRORS, Collection
from integrations_common.errors import map_exceptions

HEALTH_COLLECTION = "integration_health"


class HealthStore:
    """Failure streaks by integration id."""

    def __init__(self, collection: Collection) -> None:
        self.collection = collection

    async def failed(
        self, *, integration_id: str, first_failure: datetime, failed_jobs: int
    ) -> dict[str, Any]:
        """Add failures to the integration's streak; answers the streak after the change."""
        with map_exceptions(MONGO_ERRORS):
            doc: dict[str, Any] | None = await self.collection.find_one_and_update(
                {"_id": integration_id},
                {"$min": {"failing_since": first_failure}, "$inc": {"failed_jobs": failed_jobs}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        if doc is None:  # an upsert answers the document it made
            raise RuntimeError("the store answered no document for an upsert")
        return doc

    async def reset(self, integration_ids: list[str]) -> None:
        """End the streaks of these integrations (a success, or enabled again)."""
        if not integration_ids:
            return
        with map_exceptions(MONGO_ERRORS):
            await self.collection.delete_many({"_id": {"$in": integration_ids}})

    async def get(self, integration_id: str) -> dict[str, Any] | None:
        """The integration's streak, if it is failing."""
        with map_exceptions(MONGO_ERRORS):
            doc: dict[str, Any] | None = await self.collection.find_one({"_id": integration_id})
        return doc
