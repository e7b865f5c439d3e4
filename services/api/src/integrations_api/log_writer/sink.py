"""Idempotent writes of attempt logs and their jobs; replaying a batch changes nothing.

Every write is addressed by `_id` alone, the one key every MongoDB-wire store indexes:
- a log is inserted under its deterministic id (`log_id_for(job, attempt)`); when that id is
  already stored (a replay, or an attempt redelivered), the document is replaced, so there is
  never a second copy and the newest outcome of an attempt is the one kept;
- a job's first attempt carries its event, which the job document keeps (for replays);
- a job gets one write per batch that records each attempt's outcome under its number and
  keeps the highest attempt with `$max`, so the order in which attempts arrive does not
  matter and an attempt is never counted twice. A job seen for the first time with its first
  attempt (the common case) is inserted whole, which costs a store far less than an upsert;
  if it exists after all, the same write goes again as the upsert.

Commands are cut into chunks of at most `chunk_size` writes, so no command is larger than the
store can take.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

from prometheus_client import Counter
from pymongo import InsertOne, ReplaceOne, UpdateOne
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
    document = log.model_dump(mode="python", exclude={"event"})
    document["_id"] = document.pop("id")
    document["transport"] = log.transport.value
    document["job_status"] = log.job_status.value
    document["tenant_key"] = Tenant(org_id=log.org_id, store_id=log.store_id).key
    document["latency_ms"] = log.latency_ms
    return document


def _created(first: AttemptLog) -> dict[str, Any]:
    return {
        "tenant_key": Tenant(org_id=first.org_id, store_id=first.store_id).key,
        "integration_id": first.integration_id,
        "org_id": first.org_id,
        "store_id": first.store_id,
        "event_id": first.event_id,
        "event_type": first.event_type,
        "transport": first.transport.value,
        "created_at": first.routed_at,
    }


def _event(attempts: Sequence[AttemptLog]) -> str | None:
    """The event a batch's attempts of one job carry (first attempts do), as a JSON string (kept
    verbatim: an event's keys may hold `$` or `.`, which a document's field names may not)."""
    for log in attempts:
        if log.event is not None:
            return log.event.model_dump_json()
    return None


def _outcome(log: AttemptLog) -> dict[str, Any]:
    return {"status": log.job_status.value, "status_code": log.status_code}


def job_update(attempts: Sequence[AttemptLog]) -> UpdateOne:
    """One upsert of a job from the attempts of it that a batch holds."""
    first = attempts[0]
    outcomes: dict[str, Any] = {
        f"outcomes.{outcome_key(log.attempt)}": _outcome(log) for log in attempts
    }
    event = _event(attempts)
    if event is not None:
        outcomes["event"] = event
    return UpdateOne(
        {"_id": first.job_id},
        {
            "$setOnInsert": _created(first),
            "$max": {
                "attempts": max(log.attempt for log in attempts),
                "updated_at": max(log.finished_at for log in attempts),
            },
            "$set": outcomes,
        },
        upsert=True,
    )


def job_write(attempts: Sequence[AttemptLog]) -> InsertOne[dict[str, Any]] | UpdateOne:
    """An insert of the whole job when the batch holds its first attempt alone, else the upsert."""
    if [log.attempt for log in attempts] != [1]:
        return job_update(attempts)
    log = attempts[0]
    return InsertOne(
        {
            "_id": log.job_id,
            **_created(log),
            "attempts": 1,
            "updated_at": log.finished_at,
            "outcomes": {outcome_key(1): _outcome(log)},
            **({"event": event} if (event := _event(attempts)) is not None else {}),
        }
    )


def by_job(logs: Sequence[AttemptLog]) -> list[list[AttemptLog]]:
    """`logs` grouped by job, in the order the jobs first appear."""
    groups: dict[str, list[AttemptLog]] = {}
    for log in logs:
        groups.setdefault(log.job_id, []).append(log)
    return list(groups.values())


def job_updates(logs: Sequence[AttemptLog]) -> list[UpdateOne]:
    """One upsert per job among `logs` (what `write_attempts` falls back to)."""
    return [job_update(attempts) for attempts in by_job(logs)]


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


def _duplicates(exc: BulkWriteError) -> list[int]:
    errors: list[dict[str, Any]] = exc.details.get("writeErrors", [])
    return [error["index"] for error in errors if error.get("code") == DUPLICATE_KEY]


async def insert_logs(collection: Collection, documents: Sequence[dict[str, Any]]) -> None:
    """Insert log documents; one whose id is stored already replaces it."""
    try:
        await collection.insert_many(documents, ordered=False)
    except BulkWriteError as exc:
        _count_refusals(collection, _refusals(exc))
        again = [documents[i] for i in _duplicates(exc)]
        if again:
            replaces = [ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in again]
            await collection.bulk_write(replaces, ordered=False)


async def write_jobs(collection: Collection, jobs: Sequence[Sequence[AttemptLog]]) -> None:
    """One write per job; an insert that finds the job (or an upsert that raced another
    writer's insert of it) goes again as the upsert, which is an update this time."""
    try:
        await collection.bulk_write([job_write(attempts) for attempts in jobs], ordered=False)
    except BulkWriteError as exc:
        _count_refusals(collection, _refusals(exc))
        again = [job_update(jobs[i]) for i in _duplicates(exc)]
        if again:
            await collection.bulk_write(again, ordered=False)


async def write_attempts(*, store: LogStore, logs: Sequence[AttemptLog], chunk_size: int) -> None:
    """Store the logs, then their jobs, so that a job that is visible has its logs readable."""
    if not logs:
        return
    unique = list({log.id: log for log in logs}.values())
    with map_exceptions(MONGO_ERRORS):
        for part in chunks([log_document(log) for log in unique], chunk_size):
            await insert_logs(store.logs, part)
        for jobs in chunks(by_job(unique), chunk_size):
            await write_jobs(store.jobs, jobs)


async def sweep(*, store: LogStore, older_than: datetime) -> int:
    """Delete logs and jobs last touched before `older_than`; answers how many logs went."""
    with map_exceptions(MONGO_ERRORS):
        result = await store.logs.delete_many({"finished_at": {"$lt": older_than}})
        await store.jobs.delete_many({"updated_at": {"$lt": older_than}})
    return result.deleted_count
