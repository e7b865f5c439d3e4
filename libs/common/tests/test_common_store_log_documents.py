"""The stored shapes of attempt logs and jobs: a log document holds the log's fields, and a job
inserted whole is the document its upsert would create, against the real store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import InsertOne, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from integrations_common.attempts import AttemptLog
from integrations_common.events import CommerceEvent
from integrations_common.store.log_documents import (
    job_document,
    job_update,
    job_write,
    log_document,
)
from integrations_common.tenancy import Tenant
from integrations_testkit.factories import make_attempt_log

TENANT = {"org_id": "org-documents", "store_id": "store-documents"}


def attempts(count: int) -> list[AttemptLog]:
    """`count` attempts of one job, the first one carrying its event."""
    logs = [
        make_attempt_log("integration-docs", "event-docs", n, ok=n == count, tenant=TENANT)
        for n in range(1, count + 1)
    ]
    event = CommerceEvent(
        id="event-docs",
        source="urn:orders",
        type="order.paid",
        time=datetime(2026, 1, 1, tzinfo=UTC),
        orgid=TENANT["org_id"],
        storeid=TENANT["store_id"],
        data={"data": {"type": "order", "id": "order-1", "note": "a.b $c"}},
    )
    return [logs[0].model_copy(update={"event": event}), *logs[1:]]


def test_a_log_document_holds_the_logs_fields_without_its_event() -> None:
    for log in attempts(2):
        expected = log.model_dump(mode="python", exclude={"event"})
        expected["_id"] = expected.pop("id")
        expected.update(
            transport=log.transport.value,
            job_status=log.job_status.value,
            tenant_key=Tenant(org_id=log.org_id, store_id=log.store_id).key,
            latency_ms=log.latency_ms,
        )
        document = log_document(log)
        assert document == expected
        assert list(document) == list(expected)
        assert type(document["transport"]) is str
        assert type(document["job_status"]) is str


def test_a_job_is_inserted_whole_only_when_the_batch_holds_its_first_attempt() -> None:
    first, second, third = attempts(3)
    assert isinstance(job_write([first]), InsertOne)
    assert isinstance(job_write([first, second]), InsertOne)
    assert isinstance(job_write([second, third]), UpdateOne)
    assert job_document([second]) is None


def _without_id(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "_id"}


@pytest.mark.integration
@pytest.mark.parametrize("count", [1, 2, 3])
async def test_a_job_inserted_whole_is_the_document_its_upsert_creates(
    mongo_database: AsyncDatabase[dict[str, Any]], count: int
) -> None:
    logs = attempts(count)
    document = job_document(list(reversed(logs)))
    assert document is not None
    await mongo_database["inserted"].insert_one(document)
    await mongo_database["upserted"].bulk_write([job_update(logs)])
    inserted = await mongo_database["inserted"].find_one({})
    upserted = await mongo_database["upserted"].find_one({})
    assert inserted is not None
    assert upserted is not None
    assert inserted["_id"] == upserted["_id"] == logs[0].job_id
    assert _without_id(inserted) == _without_id(upserted)
    assert inserted["attempts"] == count
    assert CommerceEvent.model_validate_json(inserted["event"]) == logs[0].event
