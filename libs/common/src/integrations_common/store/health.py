"""The `integration_health` collection: one document per integration that is failing.

`failing_since` is the end of the first failed attempt after the last success; `failed_jobs`
counts the jobs that failed for good (dead-lettered) since then. A success removes the document;
so does enabling the integration again through the API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import UpdateOne

from integrations_common.errors import map_exceptions
from integrations_common.store.mongo import MONGO_ERRORS, Collection

HEALTH_COLLECTION = "integration_health"


class HealthStore:
    """Failure streaks by integration id."""

    def __init__(self, collection: Collection) -> None:
        self.collection = collection

    async def failed(
        self, streaks: dict[str, tuple[datetime, int]], *, since_before: datetime, min_jobs: int
    ) -> list[dict[str, Any]]:
        """Add failures (integration id -> first failure, jobs failed for good) to the streaks,
        in one command; answers the streaks among them that began before `since_before` and
        count at least `min_jobs` jobs (a second command)."""
        if not streaks:
            return []
        writes = [
            UpdateOne(
                {"_id": integration_id},
                {"$min": {"failing_since": first}, "$inc": {"failed_jobs": jobs}},
                upsert=True,
            )
            for integration_id, (first, jobs) in streaks.items()
        ]
        query = {
            "_id": {"$in": list(streaks)},
            "failing_since": {"$lte": since_before},
            "failed_jobs": {"$gte": min_jobs},
        }
        with map_exceptions(MONGO_ERRORS):
            await self.collection.bulk_write(writes, ordered=False)
            return [doc async for doc in self.collection.find(query)]

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
