"""`make bench-router`: the router's throughput against a plain aiokafka consume->produce loop.

Both runs read the same N pre-produced events from the same topic (with their own consumer
group) and write N x K messages with the same producer settings (`acks=all`, idempotent),
committing after the acknowledgements. The baseline copies each record K times without parsing;
the router decodes, validates, matches against K integrations and writes K delivery jobs. Each
rate is measured from its first batch to its last commit.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime

from aiokafka.admin import AIOKafkaAdminClient

from integrations_common import tracing
from integrations_common.events import CommerceEvent
from integrations_common.integrations import IntegrationSnapshot
from integrations_common.kafka import (
    TopicSpec,
    connection_options,
    create_consumer,
    create_producer,
    ensure_topics,
)
from integrations_common.publisher import EventPublisher
from integrations_common.settings import KafkaSettings, TopicSettings
from integrations_common.topic_catalogue import platform_topics
from integrations_common.transports import Transport
from integrations_router.router import Router
from integrations_router.settings import RouterSettings
from integrations_testkit.kafka_tools import prefixed_topics

STORE = "bench-store"


def _topics(run: str, partitions: int) -> TopicSettings:
    return prefixed_topics(f"bench-{run}", partitions=partitions)


def _integration(index: int) -> IntegrationSnapshot:
    now = datetime.now(UTC)
    return IntegrationSnapshot(
        id=str(uuid.uuid4()),
        org_id="bench-org",
        store_id=STORE,
        name=f"bench {index}",
        integration_type=Transport.WEBHOOK,
        observes=["order.paid"],
        configuration={"url": "http://127.0.0.1:9/hook", "secret_key": "gAAAA" + "x" * 60},
        version=1,
        created_at=now,
        updated_at=now,
    )


def _event() -> CommerceEvent:
    order = {"type": "order", "id": str(uuid.uuid4()), "status": "paid", "total": 4200}
    return CommerceEvent(
        id=str(uuid.uuid4()),
        source="/bench",
        type="order.paid",
        time=datetime.now(UTC),
        orgid="bench-org",
        storeid=STORE,
        data={"data": order, "included": {"items": [{"sku": f"sku-{i}"} for i in range(5)]}},
    )


async def _prepare(kafka: KafkaSettings, topics: TopicSettings, events: int, fan_out: int) -> None:
    await ensure_topics(kafka, platform_topics(topics))
    await ensure_topics(
        kafka, [TopicSpec(f"{topics.deliveries_prefix}.baseline", topics.partitions, 1)]
    )
    producer = create_producer(kafka)
    await producer.start()
    try:
        for index in range(fan_out):
            integration = _integration(index)
            await producer.send_and_wait(
                topics.config, integration.model_dump_json().encode(), key=integration.id.encode()
            )
    finally:
        await producer.stop()
    async with EventPublisher(kafka=kafka, topic=topics.events, linger_ms=20) as publisher:
        for start in range(0, events, 2_000):
            await publisher.publish_many(_event() for _ in range(min(2_000, events - start)))


async def _baseline(
    kafka: KafkaSettings, topics: TopicSettings, events: int, fan_out: int
) -> float:
    """A plain consume -> produce K copies -> await acks -> commit loop; answer seconds."""
    out = f"{topics.deliveries_prefix}.baseline"
    keys = [str(uuid.uuid4()).encode() for _ in range(fan_out)]
    consumer = create_consumer(kafka, topics.events, group_id=f"bench-baseline-{uuid.uuid4()}")
    producer = create_producer(kafka)
    await consumer.start()
    await producer.start()
    consumed = 0
    started: float | None = None
    try:
        while consumed < events:
            batch = await consumer.getmany(timeout_ms=200, max_records=1_000)
            if not batch:
                continue
            started = started or time.monotonic()
            futures = [
                await producer.send(out, value=record.value, key=key, headers=list(record.headers))
                for records in batch.values()
                for record in records
                for key in keys
            ]
            await asyncio.gather(*futures)
            await consumer.commit({tp: rs[-1].offset + 1 for tp, rs in batch.items()})
            consumed += sum(len(rs) for rs in batch.values())
        return time.monotonic() - (started or time.monotonic())
    finally:
        await consumer.stop()
        await producer.stop()


async def _router(settings: RouterSettings, events: int) -> float:
    router = Router(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(router.run(stop))
    try:
        while router.stats.events_in < events:
            if task.done():
                task.result()
                raise RuntimeError("the router stopped before routing every event")
            await asyncio.sleep(0.01)
        finished = time.monotonic()
    finally:
        stop.set()
        await task
    return finished - (router.stats.first_batch_at or finished)


async def _delete(kafka: KafkaSettings, topics: TopicSettings) -> None:
    admin = AIOKafkaAdminClient(**connection_options(kafka))
    await admin.start()
    try:
        names = [spec.name for spec in platform_topics(topics)]
        await admin.delete_topics([*names, f"{topics.deliveries_prefix}.baseline"])
    finally:
        await admin.close()


async def bench(*, events: int, fan_out: int, partitions: int) -> None:
    """Run both loops over the same events and print their rates and ratio."""
    base = RouterSettings()
    topics = _topics(uuid.uuid4().hex[:8], partitions)
    settings = base.model_copy(
        update={
            "topics": topics,
            "group_id": f"bench-router-{uuid.uuid4()}",
            "create_topics": False,
        }
    )
    print(f"preparing {events} events for {fan_out} integrations on {partitions} partitions")  # noqa: T201
    await _prepare(base.kafka, topics, events, fan_out)
    try:
        cpu_began = time.process_time()
        baseline_s = await _baseline(base.kafka, topics, events, fan_out)
        cpu_between = time.process_time()
        router_s = await _router(settings, events)
        cpu_ended = time.process_time()
    finally:
        await _delete(base.kafka, topics)
    jobs = events * fan_out
    baseline_rate = jobs / baseline_s
    router_rate = jobs / router_s
    # CPU time of this process per message: what each side costs, whatever else the machine runs.
    baseline_cpu_us = (cpu_between - cpu_began) / jobs * 1e6
    router_cpu_us = (cpu_ended - cpu_between) / jobs * 1e6
    print(  # noqa: T201
        f"baseline consume->produce: {baseline_rate:10.0f} msgs/s  "
        f"({events / baseline_s:8.0f} events/s, {baseline_s:.2f} s), "
        f"{baseline_cpu_us:.1f} us CPU per message\n"
        f"router:                    {router_rate:10.0f} jobs/s  "
        f"({events / router_s:8.0f} events/s, {router_s:.2f} s), "
        f"{router_cpu_us:.1f} us CPU per job\n"
        f"ratio router/baseline:     {router_rate / baseline_rate:10.2f} (wall), "
        f"{baseline_cpu_us / router_cpu_us:.2f} (CPU per message)"
    )


def main() -> None:
    """Parse the sizes and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--integrations", type=int, default=3)
    parser.add_argument("--partitions", type=int, default=6)
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    if tracing.configure("integrations-router-bench"):  # OTEL_* set: measure with tracing on
        print("tracing on")  # noqa: T201
    asyncio.run(
        bench(
            events=arguments.events, fan_out=arguments.integrations, partitions=arguments.partitions
        )
    )
    tracing.shutdown()


if __name__ == "__main__":
    main()
