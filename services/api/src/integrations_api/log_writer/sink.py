"""Idempotent writes of attempt logs and their jobs; replaying a batch changes nothing.

Every write is addressed by `_id` alone, the one key every MongoDB-wire store indexes:
- a log is inserted under its deterministic id (`log_id_for(job, attempt)`); a duplicate
  key means it is already stored, so replays and redeliveries never add a second copy;
- a job gets one upsert per batch that records each attempt's outcome under its number and
  keeps the highest attempt with `$max`, so the order in which attempts arrive does not
  matter and an attempt is never counted twice.

Commands are cut into chunks of at most `chunk_size` writes, so no command is larger than the
store can take.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

from prometheus_client import Counter
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError

from integrations_api.logs.store import LogStore, outcome_key
from integrations_api.mongo import MONGO_ERRORS, Collection
from integrations_common.attempts import AttemptLog
from integrations_common.errors import map_exceptions
from integrations_common.tenancy import Tenant

logger = logging.getLogger(__name__)

T = TypeVar("T")
DUPLICATE_KEY = 11_000
REFUSED = Counter(
    "integrations_log_writer_documents_refused_total",
    "Documents the store refused for good (not a duplicate), by collection.",
    ["collection"],
)


def log_document(log: AttemptLog) -> dict[str, Any]:
    """The stored document of one attempt (its `_id` is the attempt log's id)."""
    document = log.model_dump(mode="python")
    document["_id"] = document.pop("id")
    document["transport"] = log.transport.value
    document["job_status"] = log.job_status.value
    document["tenant_key"] = Tenant(org_id=log.org_id, store_id=log.store_id).key
    document["latency_ms"] = log.latency_ms
    return document


def job_update(attempts: Sequence[AttemptLog]) -> UpdateOne:
    """One upsert of a job from the attempts of it that a batch holds."""
    first = attempts[0]
    created: dict[str, Any] = {
        "tenant_key": Tenant(org_id=first.org_id, store_id=first.store_id).key,
        "integration_id": first.integration_id,
        "org_id": first.org_id,
        "store_id": first.store_id,
        "event_id": first.event_id,
        "event_type": first.event_type,
        "transport": first.transport.value,
        "created_at": first.routed_at,
    }
    outcomes = {
        f"outcomes.{outcome_key(log.attempt)}": {
            "status": log.job_status.value,
            "status_code": log.status_code,
        }
        for log in attempts
    }
    return UpdateOne(
        {"_id": first.job_id},
        {
            "$setOnInsert": created,
            "$max": {
                "attempts": max(log.attempt for log in attempts),
                "updated_at": max(log.finished_at for log in attempts),
            },
            "$set": outcomes,
        },
        upsert=True,
    )


def job_updates(logs: Sequence[AttemptLog]) -> list[UpdateOne]:
    """One upsert per job among `logs`, in the order the jobs first appear."""
    by_job: dict[str, list[AttemptLog]] = {}
    for log in logs:
        by_job.setdefault(log.job_id, []).append(log)
    return [job_update(attempts) for attempts in by_job.values()]


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """`items` in consecutive slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _refusals(exc: BulkWriteError) -> list[dict[str, Any]]:
    """The write errors of `exc` that are not duplicate keys (those mean: already stored)."""
    errors: list[dict[str, Any]] = exc.details.get("writeErrors", [])
    return [error for error in errors if error.get("code") != DUPLICATE_KEY]


def _count_refusals(collection: Collection, refused: list[dict[str, Any]]) -> None:
    for error in refused:
        REFUSED.labels(collection.name).inc()
        logger.error(
            "the store refused a document; skipped",
            extra={"collection": collection.name, "code": error.get("code")},
        )


async def insert_logs(collection: Collection, documents: Sequence[dict[str, Any]]) -> None:
    """Insert log documents; those already stored are left as they are."""
    try:
        await collection.insert_many(documents, ordered=False)
    except BulkWriteError as exc:
        _count_refusals(collection, _refusals(exc))


async def upsert_jobs(collection: Collection, updates: Sequence[UpdateOne]) -> None:
    """Apply job upserts; one that raced another writer's insert of the same job is retried."""
    try:
        await collection.bulk_write(list(updates), ordered=False)
    except BulkWriteError as exc:
        errors: list[dict[str, Any]] = exc.details.get("writeErrors", [])
        raced = [updates[e["index"]] for e in errors if e.get("code") == DUPLICATE_KEY]
        _count_refusals(collection, _refusals(exc))
        if raced:
            # The job exists now, so the same upsert is an update this time.
            await collection.bulk_write(raced, ordered=False)


async def write_attempts(*, store: LogStore, logs: Sequence[AttemptLog], chunk_size: int) -> None:
    """Store the logs, then their jobs, so that a job that is visible has its logs readable."""
    if not logs:
        return
    unique = list({log.id: log for log in logs}.values())
    with map_exceptions(MONGO_ERRORS):
        for part in chunks([log_document(log) for log in unique], chunk_size):
            await insert_logs(store.logs, part)
        for updates in chunks(job_updates(unique), chunk_size):
            await upsert_jobs(store.jobs, updates)


async def sweep(*, store: LogStore, older_than: datetime) -> int:
    """Delete logs and jobs last touched before `older_than`; answers how many logs went."""
    with map_exceptions(MONGO_ERRORS):
        result = await store.logs.delete_many({"finished_at": {"$lt": older_than}})
        await store.jobs.delete_many({"updated_at": {"$lt": older_than}})
    return result.deleted_count
