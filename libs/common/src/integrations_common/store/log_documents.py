"""The stored shape of attempt logs and jobs: collection and field names, the documents, the
job writes and the indexes. The log writer writes these shapes and the API reads them (and marks
replays); both take them from here, so the schema lives in one module.

Every write is addressed by `_id` alone, the one key every MongoDB-wire store indexes:
- a log document's `_id` is its attempt log's deterministic id (`log_id_for(job, attempt)`);
- a job gets one write per batch that records each attempt's outcome under its number
  (`outcomes.a<n>`) and keeps the highest attempt with `$max`, so the order in which attempts
  arrive does not matter and an attempt is never counted twice. A job whose first attempt the
  batch holds is inserted whole (far cheaper than an upsert), falling back to the upsert when it
  is stored already (a batch read again);
- a job's first attempt carries its event, which the job document keeps (for replays), as a
  JSON string (an event's keys may hold `$` or `.`, which a document's field names may not).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any, Self

from pymongo import ASCENDING, DESCENDING, IndexModel, InsertOne, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from integrations_common.attempts import AttemptLog
from integrations_common.errors import map_exceptions
from integrations_common.store.mongo import MONGO_ERRORS, Collection, ensure_indexes
from integrations_common.tenancy import Tenant

LOGS_COLLECTION = "integration_logs"
JOBS_COLLECTION = "integration_jobs"
REPLAYED_FROM = "replayed_from"
"""A job's field: the attempt after which it was last replayed (recoveries skip it then)."""
REPLAY_CLAIM = "replay_claim"
"""A job's field: the recovery call that set `replayed_from`."""
REPLAY_CLAIMED_AT = "replay_claimed_at"
"""A job's field: when `replay_claim` was set."""


def outcome_key(attempt: int) -> str:
    """The key of one attempt's outcome in a job's `outcomes` (not a number: never an index)."""
    return f"a{attempt}"


def job_outcome(job: dict[str, Any]) -> dict[str, Any]:
    """The outcome of a job document's highest attempt: `status` and `status_code`."""
    outcome: dict[str, Any] = job["outcomes"][outcome_key(job["attempts"])]
    return outcome


def _ttl(field: str, retention: timedelta | None) -> list[IndexModel]:
    if retention is None:
        return []
    seconds = int(retention.total_seconds())
    return [IndexModel([(field, ASCENDING)], name="retention", expireAfterSeconds=seconds)]


def log_indexes(retention: timedelta | None) -> list[IndexModel]:
    """Indexes of the logs collection (the TTL one may be skipped by the store)."""
    return [
        IndexModel([("tenant_key", ASCENDING), ("finished_at", DESCENDING)], name="by_tenant"),
        IndexModel(
            [("tenant_key", ASCENDING), ("integration_id", ASCENDING), ("finished_at", DESCENDING)],
            name="by_integration",
        ),
        *_ttl("finished_at", retention),
    ]


def job_indexes(retention: timedelta | None) -> list[IndexModel]:
    """Indexes of the jobs collection (the TTL one may be skipped by the store)."""
    return [
        IndexModel(
            [("tenant_key", ASCENDING), ("integration_id", ASCENDING), ("updated_at", DESCENDING)],
            name="by_integration",
        ),
        *_ttl("updated_at", retention),
    ]


@dataclass(kw_only=True)
class LogCollections:
    """The logs and jobs collections of one database."""

    logs: Collection
    jobs: Collection

    @classmethod
    def of(cls, database: AsyncDatabase[dict[str, Any]]) -> Self:
        """The two collections of `database`."""
        return cls(logs=database[LOGS_COLLECTION], jobs=database[JOBS_COLLECTION])

    async def ensure_indexes(self, retention: timedelta | None) -> None:
        """Create both collections' indexes; the TTL ones only with a retention (log writer)."""
        with map_exceptions(MONGO_ERRORS):
            await ensure_indexes(self.logs, log_indexes(retention))
            await ensure_indexes(self.jobs, job_indexes(retention))


@lru_cache(maxsize=4096)
def tenant_key(org_id: str | None, store_id: str | None) -> str:
    """`Tenant.key` of an org and store, cached: a writer sees few tenants, and building the
    model cost more than the rest of a log's document."""
    return Tenant(org_id=org_id, store_id=store_id).key


def log_document(log: AttemptLog) -> dict[str, Any]:
    """The stored document of one attempt (its `_id` is the attempt log's id): the log's fields
    as validated, without its event. Read from the model's `__dict__` (a flat model of plain
    values; `model_dump` cost ten times more), the same as `model_dump(exclude={"event"})`
    with the enums as their values."""
    document = dict(log.__dict__)
    del document["event"]
    document["_id"] = document.pop("id")
    document["transport"] = log.transport.value
    document["job_status"] = log.job_status.value
    document["tenant_key"] = tenant_key(log.org_id, log.store_id)
    document["latency_ms"] = log.latency_ms
    return document


def created_fields(first: AttemptLog) -> dict[str, Any]:
    """The fields a job document gets once, from its first attempt seen."""
    return {
        "tenant_key": tenant_key(first.org_id, first.store_id),
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
            "$setOnInsert": created_fields(first),
            "$max": {
                "attempts": max(log.attempt for log in attempts),
                "updated_at": max(log.finished_at for log in attempts),
            },
            "$set": outcomes,
        },
        upsert=True,
    )


def job_document(attempts: Sequence[AttemptLog]) -> dict[str, Any] | None:
    """The whole job document when the batch holds the job's first attempt (the job is new then,
    unless the batch is read again), else None (the job gets `job_update`). It is the document
    the upsert of the same attempts creates, its created fields taken from the first attempt."""
    first = next((log for log in attempts if log.attempt == 1), None)
    if first is None:
        return None
    document = {
        "_id": first.job_id,
        **created_fields(first),
        "attempts": max(log.attempt for log in attempts),
        "updated_at": max(log.finished_at for log in attempts),
        "outcomes": {outcome_key(log.attempt): _outcome(log) for log in attempts},
    }
    event = _event(attempts)
    if event is not None:
        document["event"] = event
    return document


def job_write(attempts: Sequence[AttemptLog]) -> InsertOne[dict[str, Any]] | UpdateOne:
    """An insert of the whole job when the batch holds its first attempt (far cheaper for the
    store than an upsert), else the upsert."""
    document = job_document(attempts)
    return job_update(attempts) if document is None else InsertOne(document)


def by_job(logs: Sequence[AttemptLog]) -> list[list[AttemptLog]]:
    """`logs` grouped by job, in the order the jobs first appear."""
    groups: dict[str, list[AttemptLog]] = {}
    for log in logs:
        groups.setdefault(log.job_id, []).append(log)
    return list(groups.values())


def job_updates(logs: Sequence[AttemptLog]) -> list[UpdateOne]:
    """One upsert per job among `logs` (what `write_attempts` falls back to)."""
    return [job_update(attempts) for attempts in by_job(logs)]
