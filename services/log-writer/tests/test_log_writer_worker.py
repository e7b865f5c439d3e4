"""The log writer's loop: a batch is committed only once stored, and `/readyz` follows the
consumer and the store."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.errors import CommitFailedError
from pydantic import SecretStr

from integrations_common.settings import MongoSettings
from integrations_common.store.log_documents import LogCollections
from integrations_common.store.mongo import create_client
from integrations_log_writer.settings import LogWriterSettings
from integrations_log_writer.worker import LogWriter, Readiness, run_log_writer
from integrations_testkit.factories import make_attempt_log
from integrations_testkit.kafka_tools import publish_logs
from integrations_testkit.places import Place

pytestmark = pytest.mark.integration

TENANT = {"store_id": "store-logs-2", "org_id": "org-logs-1"}


def ready(writer: LogWriter) -> bool:
    """What the log writer's `/readyz` answers (a call, so checks before and after compare)."""
    return writer.ready


async def test_store_outage_commits_nothing_and_a_restart_rereads(place: Place) -> None:
    """With MongoDB unreachable the batch is not committed; the next writer stores it."""
    log = make_attempt_log("outage-integration", "event-outage", 1, ok=True, tenant=TENANT)
    settings = LogWriterSettings(**place.config("test-log-writer-outage", batch_timeout_ms=200))
    await publish_logs(settings.kafka.bootstrap_servers, place.topics.logs, [log])

    unreachable = create_client(
        MongoSettings(uri=SecretStr("mongodb://127.0.0.1:9"), server_selection_timeout_ms=200)
    )
    first = LogWriter(settings)
    assert not ready(first)
    await first.start()
    assert ready(first)
    first.store = LogCollections.of(unreachable["db"])
    stop = asyncio.Event()
    stop.set()  # give up at the first failure, as on SIGTERM
    try:
        seen = 0
        for _ in range(50):
            seen += await first.run_once(stop)
            if seen:
                break
        assert seen > 0
        assert not ready(first)  # /readyz answers 503 while MongoDB cannot be written
    finally:
        await first.stop()
        await unreachable.close()

    second = LogWriter(settings)
    await second.start()
    try:
        for _ in range(50):
            await second.run_once(asyncio.Event())
            if await second.store.logs.find_one({"_id": log.id}):
                break
        assert await second.store.logs.find_one({"_id": log.id}) is not None
        assert second.ready
    finally:
        await second.stop()
    assert not second.ready


async def test_log_writer_is_ready_only_while_its_consumer_runs(place: Place) -> None:
    """`/readyz` of the log writer: not ready before start-up (MongoDB, Kafka) nor after stop."""
    settings = LogWriterSettings(**place.config("test-log-writer-ready", batch_timeout_ms=100))
    readiness = Readiness()
    assert not readiness()
    stop = asyncio.Event()
    task = asyncio.create_task(run_log_writer(settings, stop, readiness=readiness))
    try:
        for _ in range(200):
            if readiness() or task.done():
                break
            await asyncio.sleep(0.05)
        assert readiness()
    finally:
        stop.set()
        await task
    assert not readiness()


async def test_a_commit_refused_by_a_rebalance_keeps_the_writer_running(place: Place) -> None:
    """The group rebalanced between a batch's read and its commit (injected: the broker's
    refusal); the stored batch stays stored and the writer goes on with the next one."""
    logs = [
        make_attempt_log("rebalance-integration", f"event-{n}", 1, ok=True, tenant=TENANT)
        for n in range(2)
    ]
    settings = LogWriterSettings(**place.config("test-log-writer-rebalance", batch_timeout_ms=200))
    writer = LogWriter(settings)
    await writer.start()
    consumer = writer._consumer
    assert consumer is not None
    commit = consumer.commit
    refused: list[object] = []

    async def refuse_once(offsets: object = None) -> None:
        if not refused:
            refused.append(offsets)
            raise CommitFailedError("the group is rebalancing")
        await commit(offsets)

    consumer.commit = refuse_once
    try:
        await publish_logs(settings.kafka.bootstrap_servers, place.topics.logs, logs[:1])
        for _ in range(50):
            if await writer.run_once(asyncio.Event()):
                break
        await publish_logs(settings.kafka.bootstrap_servers, place.topics.logs, logs[1:])
        for _ in range(50):
            await writer.run_once(asyncio.Event())
            if await writer.store.logs.find_one({"_id": logs[1].id}):
                break
        assert refused
        assert await writer.store.logs.find_one({"_id": logs[0].id}) is not None
        assert await writer.store.logs.find_one({"_id": logs[1].id}) is not None
        assert writer.ready
    finally:
        await writer.stop()
