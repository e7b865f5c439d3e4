"""`python -m bench.burst_bench`: what a queued burst of one integration costs the others.

A burst of N jobs of one integration is queued on one partition, then one job of another
integration behind it; a delivery worker (real Kafka, a transport that answers every job with a
success after 5 ms) starts, and the time and this process's CPU until the other integration's
job is attempted are measured. The worker must read through the burst (Kafka is read in order);
it sets the burst's jobs aside by reference. Rounds alternate the settings compared (by default
the fetch size per partition) with a control round of no burst each time, in one run, on fresh
topics. CPU is the steadier figure on a shared machine; wall time includes Kafka's own work.

Exits 1 ("NOT A RESULT") when a round's other job was not attempted within 120 s.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from collections.abc import Mapping, Sequence

from bench.e2e_bench import say
from integrations_common.delivery import DeliveryWorker
from integrations_common.delivery.settings import DeliverySettings
from integrations_common.delivery.transport import DeliveryOutcome
from integrations_common.jobs import DeliveryJob
from integrations_common.kafka import create_producer, ensure_topics
from integrations_common.settings import KafkaSettings
from integrations_common.transports import Transport
from integrations_testkit.factories import make_event, make_integration, make_job
from integrations_testkit.kafka_tools import delete_topics, topic_prefix, unique_topics

BURST_ID = "burst"
OTHER_ID = "other"


class FirstAttempts:
    """A transport that succeeds after 5 ms and notes each integration's first attempt."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}
        self.other_attempted = asyncio.Event()

    async def deliver(self, jobs: Sequence[DeliveryJob]) -> Sequence[DeliveryOutcome]:
        now = time.monotonic()
        for job in jobs:
            self.first.setdefault(job.integration.id, now)
        if OTHER_ID in self.first:
            self.other_attempted.set()
        await asyncio.sleep(0.005)
        return [DeliveryOutcome(succeeded=True, status_code=204) for _ in jobs]

    async def aclose(self) -> None:
        """Nothing to close."""


async def queue_jobs(kafka: KafkaSettings, topic: str, burst: int) -> None:
    """`burst` jobs of one integration, then one of another, all on partition 0."""
    producer = create_producer(kafka, linger_ms=20, max_batch_size=1024 * 1024)
    await producer.start()
    try:
        integration = make_integration(
            integration_id=BURST_ID, configuration={"url": "http://127.0.0.1:1/"}
        )
        template = make_job(make_event("burst"), integration).model_dump_json().encode()
        pending = []
        for n in range(burst):
            value = template.replace(b'"job_id":"', f'"job_id":"b{n}-'.encode(), 1)
            pending.append(await producer.send(topic, value, key=BURST_ID.encode(), partition=0))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
        other = make_job(
            make_event("other"),
            make_integration(integration_id=OTHER_ID, configuration={"url": "http://127.0.0.1:1/"}),
        )
        await producer.send_and_wait(
            topic, other.model_dump_json().encode(), key=OTHER_ID.encode(), partition=0
        )
    finally:
        await producer.stop()


async def one_round(
    kafka: KafkaSettings, *, burst: int, settings: Mapping[str, object]
) -> dict[str, float]:
    """Queue, start a worker, time the other integration's first attempt."""
    topics = unique_topics("burst-bench", partitions=1)
    transport = FirstAttempts()
    worker = DeliveryWorker(
        transport=Transport.WEBHOOK,
        deliverer=transport,
        kafka=kafka,
        topics=topics,
        settings=DeliverySettings.model_validate(
            {"consumer_group": f"burst-bench-{uuid.uuid4().hex[:8]}", **settings}
        ),
    )
    try:
        await ensure_topics(kafka, worker.topic_specs())
        await queue_jobs(kafka, topics.deliveries(Transport.WEBHOOK), burst)
        stop = asyncio.Event()
        started, cpu = time.monotonic(), time.process_time()
        running = asyncio.create_task(worker.run(stop))
        try:
            async with asyncio.timeout(120):
                await transport.other_attempted.wait()
        except TimeoutError:
            say(f"NOT A RESULT: the other job was not attempted within 120 s ({settings})")
            sys.exit(1)
        result = {
            "seconds": transport.first[OTHER_ID] - started,
            "cpu_s": time.process_time() - cpu,
        }
        stop.set()
        await running
        return result
    finally:
        await delete_topics(kafka.bootstrap_servers, f"{topic_prefix(topics)}.")


async def run(args: argparse.Namespace) -> None:
    kafka = KafkaSettings(bootstrap_servers=args.kafka)
    sides = {
        f"{mib:g} MiB": {"fetch_partition_bytes": int(mib * 1024 * 1024)} for mib in args.fetch_mib
    }
    figures: dict[str, list[dict[str, float]]] = {name: [] for name in sides}
    controls: list[dict[str, float]] = []
    for round_ in range(1, args.rounds + 1):
        for name, settings in sides.items():
            controls.append(await one_round(kafka, burst=0, settings=settings))
            figures[name].append(await one_round(kafka, burst=args.burst, settings=settings))
            say(
                f"round {round_} fetch {name}: other integration attempted after "
                f"{figures[name][-1]['seconds']:.3f} s, CPU {figures[name][-1]['cpu_s']:.3f} s "
                f"(no burst: {controls[-1]['seconds']:.3f} s)"
            )
    lines = [
        f"{args.burst} queued jobs of one integration, medians of {args.rounds} rounds:",
        "| fetch per partition | other integration's first attempt s | worker CPU s |",
        "|---|---|---|",
    ]
    for name, rows in figures.items():
        seconds = statistics.median(r["seconds"] for r in rows)
        cpu = statistics.median(r["cpu_s"] for r in rows)
        lines.append(f"| {name} | {seconds:.2f} | {cpu:.2f} |")
    control = statistics.median(r["seconds"] for r in controls)
    lines.append(f"| no burst (control) | {control:.2f} | - |")
    say("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fetch-mib", type=float, nargs="+", default=[2, 8])
    parser.add_argument("--kafka", default="127.0.0.1:9092")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
