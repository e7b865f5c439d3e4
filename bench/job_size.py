"""What keeping each job's event costs: `python -m bench.job_size` (needs the local store).

Writes jobs through the log writer's own code (`write_attempts`) into a throwaway database, reads
them back and measures their BSON size with and without the kept event, for an order with 1 and
with 10 items; also the first attempt log's size on the logs topic with and without the event.
Prints one JSON line per order size; the database is dropped at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from datetime import UTC, datetime
from typing import Any

import bson
from pydantic import SecretStr

from integrations_api.logs.store import LogStore
from integrations_common.attempts import AttemptLog, JobStatus
from integrations_common.events import CommerceEvent
from integrations_common.integrations import IntegrationSnapshot
from integrations_common.jobs import DeliveryJob
from integrations_common.settings import MongoSettings
from integrations_common.store.mongo import create_client
from integrations_common.transports import Transport
from integrations_log_writer.sink import write_attempts


def order(items: int) -> dict[str, Any]:
    """An `order.paid` document with `items` order items included."""
    return {
        "data": {
            "type": "order",
            "id": str(uuid.uuid4()),
            "status": "complete",
            "payment": "paid",
            "customer": {"name": "Ron Swanson", "email": "ron.swanson@example.com"},
            "meta": {"display_price": {"with_tax": {"amount": 1000, "currency": "GBP"}}},
            "relationships": {
                "items": {"data": [{"type": "item", "id": f"i-{i}"} for i in range(items)]}
            },
        },
        "included": {
            "items": [
                {"type": "order_item", "id": f"i-{i}", "quantity": 1, "sku": f"SKU-{i:05d}"}
                for i in range(items)
            ]
        },
    }


def first_attempt(items: int, integration: IntegrationSnapshot) -> AttemptLog:
    """A succeeded first attempt of a job about a new order."""
    now = datetime.now(UTC)
    event = CommerceEvent(
        id=str(uuid.uuid4()),
        source="urn:orders",
        type="order.paid",
        time=now,
        orgid="org-1",
        storeid="store-1",
        data=order(items),
    )
    return AttemptLog.for_job(
        DeliveryJob.route(event, integration),
        succeeded=True,
        job_status=JobStatus.SUCCEEDED,
        started_at=now,
        finished_at=now,
        status_code=200,
        body="ok",
    )


async def main() -> None:
    """Measure and print."""
    database = f"job_size_{uuid.uuid4().hex[:8]}"
    uri = os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27017")
    client = create_client(MongoSettings(uri=SecretStr(uri), database=database))
    store = LogStore(logs=client[database]["logs"], jobs=client[database]["jobs"])
    now = datetime.now(UTC)
    integration = IntegrationSnapshot(
        id=str(uuid.uuid4()),
        org_id="org-1",
        store_id="store-1",
        name="size",
        integration_type=Transport.WEBHOOK,
        observes=["order.paid"],
        configuration={"url": "https://example.com/hook"},
        version=1,
        created_at=now,
        updated_at=now,
    )
    try:
        for items in (1, 10):
            kept = first_attempt(items, integration)
            bare = first_attempt(items, integration).model_copy(update={"event": None})
            await write_attempts(store=store, logs=[kept, bare], chunk_size=100)
            sizes = [
                len(bson.encode(await store.jobs.find_one({"_id": log.job_id}) or {}))
                for log in (kept, bare)
            ]
            assert kept.event is not None  # noqa: S101 - a first attempt carries its event
            result = {
                "order_items": items,
                "event_json_bytes": len(kept.event.model_dump_json()),
                "job_bson_bytes_with_event": sizes[0],
                "job_bson_bytes_without_event": sizes[1],
                "mb_per_million_jobs_with_event": sizes[0],
                "mb_per_million_jobs_for_the_event": sizes[0] - sizes[1],
                "first_log_kafka_bytes_with_event": len(kept.model_dump_json()),
                "first_log_kafka_bytes_without_event": len(bare.model_dump_json()),
            }
            print(json.dumps(result))  # noqa: T201 - the report
    finally:
        await client.drop_database(database)
        await client.close()


if __name__ == "__main__":
    asyncio.run(main())
