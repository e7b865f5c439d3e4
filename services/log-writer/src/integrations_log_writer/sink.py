"""Idempotent writes of attempt logs and their jobs (shapes in `store.log_documents`); replaying a
batch changes nothing.

- a log is inserted under its deterministic id; when that id is already stored (a replay, or an
  attempt redelivered), the document is replaced, so there is never a second copy and the newest
  outcome of an attempt is the one kept;
- a job's first-attempt insert that finds the job stored goes again as its upsert.

Commands are cut into chunks of at most `chunk_size` writes, so no command is larger than the
store can take.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

from prometheus_client import Counter
from pymongo import ReplaceOne
from pymongo.errors import BulkWriteError

from integrations_common.attempts import AttemptLog
from integrations_common.errors import map_exceptions
from integrations_common.store.log_documents import (
    LogCollections,
    by_job,
    job_document,
    job_update,
    log_document,
)
from integrations_common.store.mongo import MONGO_ERRORS, Collection

logger = logging.getLogger(__name__)

T = TypeVar("T")
DUPLICATE_KEY = 11_000
REFUSED = Counter(
    "integrations_log_writer_documents_refused_total",
    "Documents the store refused for good (not a duplicate), by collection.",
    ["collection"],
)


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


async def _upsert_jobs(collection: Collection, jobs: Sequence[Sequence[AttemptLog]]) -> None:
    """One upsert per job; one that raced another writer's insert of the job goes again (an
    update this time)."""
    if not jobs:
        return
    try:
        await collection.bulk_write([job_update(attempts) for attempts in jobs], ordered=False)
    except BulkWriteError as exc:
        _count_refusals(collection, _refusals(exc))
        again = [job_update(jobs[i]) for i in _duplicates(exc)]
        if again:
            await collection.bulk_write(again, ordered=False)


async def write_jobs(collection: Collection, jobs: Sequence[Sequence[AttemptLog]]) -> None:
    """One write per job: the jobs whose first attempt the batch holds are inserted whole, in
    one `insert_many` (plain documents, cheaper than bulk operations to build); an insert that
    finds the job stored goes again as its upsert, with the other jobs' upserts."""
    new: list[Sequence[AttemptLog]] = []
    documents: list[dict[str, Any]] = []
    known: list[Sequence[AttemptLog]] = []
    for attempts in jobs:
        document = job_document(attempts)
        if document is None:
            known.append(attempts)
        else:
            new.append(attempts)
            documents.append(document)
    if documents:
        try:
            await collection.insert_many(documents, ordered=False)
        except BulkWriteError as exc:
            _count_refusals(collection, _refusals(exc))
            known.extend(new[i] for i in _duplicates(exc))
    await _upsert_jobs(collection, known)


async def write_attempts(
    *, store: LogCollections, logs: Sequence[AttemptLog], chunk_size: int
) -> None:
    """Store the logs, then their jobs, so that a job that is visible has its logs readable."""
    if not logs:
        return
    unique = list({log.id: log for log in logs}.values())
    with map_exceptions(MONGO_ERRORS):
        for part in chunks([log_document(log) for log in unique], chunk_size):
            await insert_logs(store.logs, part)
        for jobs in chunks(by_job(unique), chunk_size):
            await write_jobs(store.jobs, jobs)


async def sweep(*, store: LogCollections, older_than: datetime) -> int:
    """Delete logs and jobs last touched before `older_than`; answers how many logs went."""
    with map_exceptions(MONGO_ERRORS):
        result = await store.logs.delete_many({"finished_at": {"$lt": older_than}})
        await store.jobs.delete_many({"updated_at": {"$lt": older_than}})
    return result.deleted_count
