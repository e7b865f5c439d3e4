"""Tenant-scoped reads (and the replay claims) of the `integration_logs` and
`integration_jobs` collections, whose documents are defined in
`integrations_common.store.log_documents`. The API reads logs and jobs through this module alone.

The log writer writes them. Retention: a TTL index where the store
implements it, and the log writer's periodic sweep everywhere.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, UpdateOne

from integrations_common.attempts import log_id_for
from integrations_common.errors import map_exceptions
from integrations_common.store.log_documents import (
    REPLAY_CLAIM,
    REPLAY_CLAIMED_AT,
    REPLAYED_FROM,
    LogCollections,
)
from integrations_common.store.mongo import MONGO_ERRORS, Collection
from integrations_common.tenancy import Tenant

NEWEST_FIRST = [("finished_at", DESCENDING), ("_id", ASCENDING)]


class LogStore(LogCollections):
    """Tenant-scoped reads of logs and jobs."""

    async def _page(
        self,
        collection: Collection,
        query: dict[str, Any],
        sort: list[Any],
        offset: int,
        limit: int,
    ) -> tuple[list[dict[str, Any]], bool]:
        with map_exceptions(MONGO_ERRORS):
            cursor = collection.find(query).sort(sort).skip(offset).limit(limit + 1)
            docs = [doc async for doc in cursor]
        return docs[:limit], len(docs) > limit

    async def log_page(
        self,
        *,
        tenant: Tenant,
        offset: int,
        limit: int,
        integration_id: str | None = None,
    ) -> tuple[list[dict[str, Any]], bool]:
        """A page of the tenant's logs, newest first, and whether more follow."""
        query: dict[str, Any] = {"tenant_key": tenant.key}
        if integration_id is not None:
            query["integration_id"] = integration_id
        return await self._page(self.logs, query, NEWEST_FIRST, offset, limit)

    async def job_page(
        self, *, tenant: Tenant, integration_id: str, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], bool]:
        """A page of one integration's jobs, latest activity first."""
        query = {"tenant_key": tenant.key, "integration_id": integration_id}
        sort = [("updated_at", DESCENDING), ("_id", ASCENDING)]
        return await self._page(self.jobs, query, sort, offset, limit)

    async def find_job(
        self, *, tenant: Tenant, integration_id: str, job_id: str
    ) -> dict[str, Any] | None:
        """The job, when it belongs to the tenant's integration (read by `_id` alone)."""
        with map_exceptions(MONGO_ERRORS):
            job = await self.jobs.find_one({"_id": job_id})
        if job is None or (job["tenant_key"], job["integration_id"]) != (
            tenant.key,
            integration_id,
        ):
            return None
        return job

    async def job_log_page(
        self, *, job: dict[str, Any], offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], bool]:
        """A page of one job's logs, newest first, read by their ids (derived from attempts)."""
        ids = [log_id_for(job["_id"], n) for n in range(1, job["attempts"] + 1)]
        with map_exceptions(MONGO_ERRORS):
            docs = [doc async for doc in self.logs.find({"_id": {"$in": ids}})]
        docs.sort(key=lambda doc: doc["_id"])
        docs.sort(key=lambda doc: doc["finished_at"], reverse=True)
        return docs[offset : offset + limit], len(docs) > offset + limit

    async def jobs_created_between(
        self, *, tenant: Tenant, integration_id: str, since: datetime, until: datetime
    ) -> list[dict[str, Any]]:
        """One integration's jobs first routed in [since, until), oldest first: their `_id`,
        `attempts` and `outcomes` only (not their events)."""
        query = {
            "tenant_key": tenant.key,
            "integration_id": integration_id,
            "created_at": {"$gte": since, "$lt": until},
        }
        projection = {"attempts": 1, "outcomes": 1, "created_at": 1}
        with map_exceptions(MONGO_ERRORS):
            cursor = self.jobs.find(query, projection).sort([("created_at", ASCENDING)])
            return [doc async for doc in cursor]

    async def claim_replays(
        self, *, jobs: dict[str, int], claim: str, stale_after: timedelta
    ) -> list[dict[str, Any]]:
        """Claim jobs (id -> attempt count) for a replay, in two commands; answers the documents
        this `claim` got, whole. A job is claimed once per attempt count: `replayed_from` is
        set to its count only where `attempts` still has that value and it is not set yet, so a
        concurrent claim of the same job finds it taken. A claim older than `stale_after` whose
        job still has the same attempt count was never delivered (a replay is attempted within
        seconds), so it may be taken again."""
        if not jobs:
            return []
        now = datetime.now(UTC)
        stale = {REPLAY_CLAIMED_AT: {"$lt": now - stale_after}}
        writes = [
            UpdateOne(
                {
                    "_id": job_id,
                    "attempts": count,
                    "$or": [{REPLAYED_FROM: {"$ne": count}}, stale],
                },
                {"$set": {REPLAYED_FROM: count, REPLAY_CLAIM: claim, REPLAY_CLAIMED_AT: now}},
            )
            for job_id, count in jobs.items()
        ]
        with map_exceptions(MONGO_ERRORS):
            await self.jobs.bulk_write(writes, ordered=False)
            cursor = self.jobs.find({"_id": {"$in": list(jobs)}, REPLAY_CLAIM: claim})
            return [doc async for doc in cursor]

    async def release_replays(self, *, job_ids: list[str], claim: str) -> None:
        """Undo `claim_replays` (its replays could not be sent)."""
        with map_exceptions(MONGO_ERRORS):
            await self.jobs.update_many(
                {"_id": {"$in": job_ids}, REPLAY_CLAIM: claim},
                {"$unset": {REPLAYED_FROM: "", REPLAY_CLAIM: "", REPLAY_CLAIMED_AT: ""}},
            )

    async def mark_replayed(self, *, job_id: str, attempts: int) -> None:
        """Record that the job was replayed after `attempts` (an explicit replay)."""
        with map_exceptions(MONGO_ERRORS):
            await self.jobs.update_one({"_id": job_id}, {"$max": {REPLAYED_FROM: attempts}})
