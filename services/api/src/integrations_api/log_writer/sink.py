"""Idempotent writes of attempt logs and their jobs; replaying a batch changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import UpdateOne

from integrations_api.logs.store import LogStore
from integrations_api.mongo import MONGO_ERRORS
from integrations_common.attempts import AttemptLog
from integrations_common.errors import map_exceptions
from integrations_common.tenancy import Tenant


def log_document(log: AttemptLog) -> dict[str, Any]:
    """The stored fields of one attempt (its `_id` is the attempt log's id)."""
    document = log.model_dump(mode="python", exclude={"id"})
    document["transport"] = log.transport.value
    document["job_status"] = log.job_status.value
    document["tenant_key"] = Tenant(org_id=log.org_id, store_id=log.store_id).key
    document["latency_ms"] = log.latency_ms
    return document


def job_updates(log: AttemptLog) -> list[UpdateOne]:
    """Create the job if new, keep the highest attempt, and take the status of that attempt."""
    tenant_key = Tenant(org_id=log.org_id, store_id=log.store_id).key
    created: dict[str, Any] = {
        "tenant_key": tenant_key,
        "integration_id": log.integration_id,
        "org_id": log.org_id,
        "store_id": log.store_id,
        "event_id": log.event_id,
        "event_type": log.event_type,
        "transport": log.transport.value,
        "created_at": log.routed_at,
    }
    return [
        UpdateOne(
            {"_id": log.job_id},
            {
                "$setOnInsert": created,
                "$max": {"attempts": log.attempt, "updated_at": log.finished_at},
            },
            upsert=True,
        ),
        UpdateOne(
            {"_id": log.job_id, "attempts": log.attempt},
            {"$set": {"status": log.job_status.value, "last_status_code": log.status_code}},
        ),
    ]


async def write_attempts(*, store: LogStore, logs: Sequence[AttemptLog]) -> None:
    """Upsert the logs, then their jobs (in order, so a job's status follows its last attempt)."""
    if not logs:
        return
    log_ops = [UpdateOne({"_id": log.id}, {"$set": log_document(log)}, upsert=True) for log in logs]
    job_ops = [op for log in logs for op in job_updates(log)]
    with map_exceptions(MONGO_ERRORS):
        await store.logs.bulk_write(log_ops, ordered=False)
        await store.jobs.bulk_write(job_ops, ordered=True)


async def sweep(*, store: LogStore, older_than: datetime) -> int:
    """Delete logs and jobs last touched before `older_than`; answers how many logs went."""
    with map_exceptions(MONGO_ERRORS):
        result = await store.logs.delete_many({"finished_at": {"$lt": older_than}})
        await store.jobs.delete_many({"updated_at": {"$lt": older_than}})
    return result.deleted_count
