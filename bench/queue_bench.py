"""`make bench-queue`: the transports' rates against the raw clients' own, same servers, same run.

SQS (ElasticMQ): raw aiobotocore `SendMessageBatch` and `SendMessage` loops, then `SqsTransport`
with and without batching. STOMP (ActiveMQ): a raw stomp.py loop that sends with receipts
(a window of outstanding receipts), then `StompTransport`. Every figure is messages per second
over the same number of messages, printed with its ratio to the raw client.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import stomp
from aiobotocore.session import get_session
from pydantic import SecretStr

from integrations_common.delivery import DeliverySettings
from integrations_common.jobs import DeliveryJob
from integrations_common.secret_box import EncryptionSettings, SecretBox, generate_key
from integrations_common.settings import SsrfSettings
from integrations_common.transports import Transport
from integrations_queue_sender.message import message_body
from integrations_queue_sender.settings import SqsSettings, StompSettings
from integrations_queue_sender.sqs_transport import SqsTransport, message_attributes
from integrations_queue_sender.stomp_transport import StompTransport, frame_headers
from integrations_testkit.factories import (
    make_event,
    make_integration,
    make_job,
    sqs_integration,
    stomp_configuration,
)


async def _timed(count: int, run: Callable[[], Awaitable[None]]) -> float:
    started = time.perf_counter()
    await run()
    return count / (time.perf_counter() - started)


async def _bounded(calls: Sequence[Callable[[], Awaitable[Any]]], concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(call: Callable[[], Awaitable[Any]]) -> None:
        async with gate:
            await call()

    await asyncio.gather(*(one(c) for c in calls))


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def _deliver_all(
    transport: Any, jobs: list[DeliveryJob], concurrency: int, batch: int
) -> None:
    failed = 0

    async def deliver(batch: list[DeliveryJob]) -> None:
        nonlocal failed
        failed += sum(not o.succeeded for o in await transport.deliver(batch))

    await _bounded([partial(deliver, b) for b in _chunks(jobs, batch)], concurrency)
    if failed:
        raise RuntimeError(f"{failed} deliveries failed during the benchmark")


@dataclass(frozen=True)
class Load:
    """How every timed run pushes: `concurrency` deliver calls of `batch` jobs in flight, in each
    of `rounds` interleaved rounds (their median is the result)."""

    concurrency: int
    batch: int
    rounds: int

    def deliver_all(self, transport: Any, jobs: list[DeliveryJob]) -> Callable[[], Awaitable[None]]:
        """A run that delivers `jobs` with `transport` under this load."""
        return partial(_deliver_all, transport, jobs, self.concurrency, self.batch)


async def bench_sqs(
    *, endpoint: str, messages: int, per_queue: int, load: Load
) -> list[tuple[str, float]]:
    """SQS rates (median of `rounds` interleaved rounds): raw and transport, batched or not.

    The raw loops send the very same messages (body and attributes) with as many requests in
    flight as the transport may have per queue (`per_queue`).
    """
    settings = SqsSettings(endpoint_url=endpoint, concurrency_per_queue=per_queue)
    box = SecretBox(EncryptionSettings(keys=SecretStr(generate_key())))
    async with get_session().create_client(
        "sqs",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",  # noqa: S106 - ElasticMQ accepts any credentials
    ) as client:
        url = (await client.create_queue(QueueName=f"qs-bench-{uuid.uuid4().hex[:8]}"))["QueueUrl"]
        integration = sqs_integration(box, url=url)
        jobs = [make_job(make_event(), integration) for _ in range(messages)]
        messages_: list[dict[str, Any]] = [
            {"MessageBody": message_body(j), "MessageAttributes": message_attributes(j)}
            for j in jobs
        ]
        entries: list[list[Any]] = [
            [{"Id": str(i), **m} for i, m in enumerate(chunk)] for chunk in _chunks(messages_, 10)
        ]
        batch_calls = [partial(client.send_message_batch, QueueUrl=url, Entries=e) for e in entries]
        single_calls = [partial(client.send_message, QueueUrl=url, **m) for m in messages_]
        batched = SqsTransport(settings=settings, box=box)
        unbatched = SqsTransport(settings=settings.model_copy(update={"batching": False}), box=box)
        runs: dict[str, Callable[[], Awaitable[None]]] = {
            "sqs raw SendMessageBatch": partial(_bounded, batch_calls, per_queue),
            "sqs SqsTransport batched": load.deliver_all(batched, jobs),
            "sqs raw SendMessage": partial(_bounded, single_calls, per_queue),
            "sqs SqsTransport unbatched": load.deliver_all(unbatched, jobs),
        }
        rates: dict[str, list[float]] = {name: [] for name in runs}
        try:
            await load.deliver_all(batched, jobs[: load.batch])()  # warm up both clients
            await load.deliver_all(unbatched, jobs[: load.batch])()
            for _ in range(load.rounds):
                for name, run in runs.items():
                    rates[name].append(await _timed(messages, run))
        finally:
            await batched.aclose()
            await unbatched.aclose()
            await client.purge_queue(QueueUrl=url)
            await client.delete_queue(QueueUrl=url)
    return [(name, statistics.median(values)) for name, values in rates.items()]


@dataclass(frozen=True)
class StompBroker:
    """The STOMP broker the benchmark sends to, and who it logs in as."""

    host: str
    port: int
    login: str
    passcode: str

    @property
    def address(self) -> str:
        """The broker's address in an integration's configuration."""
        return f"stomp://{self.host}:{self.port}"


def _raw_stomp(*, broker: StompBroker, destination: str, bodies: list[bytes]) -> float:
    window = 256
    done = threading.Semaphore(0)

    class Receipts(stomp.ConnectionListener):  # type: ignore[misc]
        def on_receipt(self, frame: Any) -> None:
            done.release()

    conn = stomp.Connection12([(broker.host, broker.port)], heartbeats=(10_000, 10_000))
    conn.set_listener("receipts", Receipts())
    conn.connect(broker.login, broker.passcode, wait=True)
    try:
        started = time.perf_counter()
        for chunk in _chunks(bodies, window):
            for n, body in enumerate(chunk):
                conn.send(destination=destination, body=body, headers=frame_headers(f"r{n}"))
            for _ in chunk:
                if not done.acquire(timeout=30):
                    raise RuntimeError("a receipt did not arrive")
        return len(bodies) / (time.perf_counter() - started)
    finally:
        conn.disconnect()


async def bench_stomp(*, broker: StompBroker, messages: int, load: Load) -> list[tuple[str, float]]:
    """STOMP rates with receipts: raw stomp.py, then the transport."""
    box = SecretBox(EncryptionSettings(keys=SecretStr(generate_key())))
    destination = f"/queue/qs-bench-{uuid.uuid4().hex[:8]}"
    integration = make_integration(
        integration_type=Transport.STOMP,
        configuration=stomp_configuration(
            box,
            addresses=[broker.address],
            destination=destination,
            username=broker.login,
            password=broker.passcode,
        ),
    )
    jobs = [make_job(make_event(), integration) for _ in range(messages)]
    bodies = [message_body(j).encode() for j in jobs]
    raw_rates: list[float] = []
    rates: list[float] = []
    loopback = SsrfSettings(allow_cidrs="127.0.0.0/8,::1/128").policy()  # the local broker
    transport = StompTransport(settings=StompSettings(), box=box, policy=loopback)
    try:
        await transport.deliver(jobs[:1])  # connect outside the timing, as the raw loop does
        for _ in range(load.rounds):
            raw_rates.append(
                await asyncio.to_thread(
                    _raw_stomp, broker=broker, destination=destination, bodies=bodies
                )
            )
            rates.append(await _timed(messages, load.deliver_all(transport, jobs)))
    finally:
        await transport.aclose()
    return [
        ("stomp raw stomp.py, receipts", statistics.median(raw_rates)),
        ("stomp StompTransport, receipts", statistics.median(rates)),
    ]


def _report(results: list[tuple[str, float]]) -> None:
    """Rows come in (raw, transport) pairs; each transport row is compared with its raw row."""
    for n in range(0, len(results), 2):
        (raw_name, raw), (name, rate) = results[n], results[n + 1]
        print(f"  {raw_name:34s} {raw:9.0f} msg/s")  # noqa: T201
        print(f"  {name:34s} {rate:9.0f} msg/s   {rate / raw:5.2f}x the raw client")  # noqa: T201


async def _main(args: argparse.Namespace) -> None:
    print(  # noqa: T201
        f"queue sender benchmark: {args.sqs_messages} SQS and {args.stomp_messages} STOMP "
        f"messages, {args.concurrency} deliver calls of {args.batch} jobs in flight, "
        f"{args.per_queue} SQS requests in flight per queue, median of {args.rounds} rounds"
    )
    load = Load(concurrency=args.concurrency, batch=args.batch, rounds=args.rounds)
    sqs = await bench_sqs(
        endpoint=args.sqs_endpoint, messages=args.sqs_messages, per_queue=args.per_queue, load=load
    )
    _report(sqs)
    broker = StompBroker(args.stomp_host, args.stomp_port, args.stomp_login, args.stomp_passcode)
    stomp_results = await bench_stomp(broker=broker, messages=args.stomp_messages, load=load)
    _report(stomp_results)


def main() -> None:
    """Parse the arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sqs-endpoint", default="http://127.0.0.1:9324")
    parser.add_argument("--sqs-messages", type=int, default=2000)
    parser.add_argument("--stomp-host", default="127.0.0.1")
    parser.add_argument("--stomp-port", type=int, default=61613)
    parser.add_argument("--stomp-login", default="integrations")
    parser.add_argument("--stomp-passcode", default="integrations")
    parser.add_argument("--stomp-messages", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=8, help="deliver calls in flight")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians")
    parser.add_argument(
        "--batch",
        type=int,
        default=DeliverySettings().batch_size,
        help="jobs per deliver call (the delivery worker's batch_size)",
    )
    parser.add_argument(
        "--per-queue",
        type=int,
        default=SqsSettings().concurrency_per_queue,
        help="SQS requests in flight per queue (transport limit and raw loops alike)",
    )
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
