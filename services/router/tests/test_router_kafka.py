"""The running router against real Kafka: matching, config changes, dead letters, both modes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from integrations_common.jobs import job_id_for
from integrations_common.transports import Transport
from integrations_testkit.factories import make_event, make_integration

from .conftest import KafkaKit, running_router, wait_until

pytestmark = pytest.mark.integration


def pairs(jobs: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(job["event"]["id"], job["integration"]["id"]) for job in jobs}


async def test_matching_rules(
    kafka_kit: KafkaKit,
) -> None:
    store_hook = make_integration(store_id="A")
    store_sqs = make_integration(store_id="A", observes=["order.*"], integration_type=Transport.SQS)
    disabled_stomp = make_integration(store_id="A", enabled=False, integration_type=Transport.STOMP)
    other_store = make_integration(store_id="B")
    org_hook = make_integration(store_id=None, org_id="org-1", observes=["catalog-release.created"])
    deleted = make_integration(store_id="A", integration_type=Transport.STOMP)
    for integration in (store_hook, store_sqs, disabled_stomp, other_store, org_hook, deleted):
        await kafka_kit.put_integration(integration)
    await kafka_kit.delete_integration(deleted.id)

    store_event = make_event(store_id="A")
    org_event = make_event(event_type="catalog-release.created", store_id=None, org_id="org-1")
    b_event = make_event(store_id="B")
    unobserved = make_event(event_type="cart.updated", store_id="A")
    async with running_router(kafka_kit.settings()) as router:
        assert router.table.index.get(deleted.id) is None
        await kafka_kit.emit(store_event)
        await kafka_kit.emit(org_event, binary=True)
        await kafka_kit.emit(b_event, binary=True)
        await kafka_kit.emit(unobserved)
        await wait_until(lambda: router.stats.events_in == 4)

    webhook = await kafka_kit.all_jobs(Transport.WEBHOOK)
    assert pairs(webhook) == {
        (store_event.id, store_hook.id),
        (org_event.id, org_hook.id),
        (b_event.id, other_store.id),
    }
    assert pairs(await kafka_kit.all_jobs(Transport.SQS)) == {(store_event.id, store_sqs.id)}
    assert await kafka_kit.all_jobs(Transport.STOMP) == []
    job = next(j for j in webhook if j["event"]["id"] == store_event.id)
    assert job["job_id"] == job_id_for(store_event.id, store_hook.id)
    assert job["attempt"] == 1
    assert job["routed_at"]
    assert job["integration"]["configuration"] == store_hook.configuration
    records = await kafka_kit.read_all(kafka_kit.topics.deliveries(Transport.WEBHOOK))
    assert {r.key for r in records} == {
        store_hook.id.encode(),
        org_hook.id.encode(),
        other_store.id.encode(),
    }


async def test_config_changes_apply_to_later_events(
    kafka_kit: KafkaKit,
) -> None:
    hook = make_integration(store_id="C", observes=["order.created"])
    await kafka_kit.put_integration(hook)
    async with running_router(kafka_kit.settings()) as router:
        before = make_event(store_id="C")
        await kafka_kit.emit(before)
        await wait_until(lambda: router.stats.events_in == 1)

        updated = hook.model_copy(update={"observes": ["order.paid"], "version": 2})
        await kafka_kit.put_integration(updated)
        await wait_until(lambda: (router.table.index.get(hook.id) or hook).version == 2)
        after_update = make_event(store_id="C")
        await kafka_kit.emit(after_update)
        await wait_until(lambda: router.stats.events_in == 2)

        disabled = updated.model_copy(update={"enabled": False, "version": 3})
        await kafka_kit.put_integration(disabled)
        await wait_until(lambda: (router.table.index.get(hook.id) or hook).version == 3)
        after_disable = make_event(store_id="C")
        await kafka_kit.emit(after_disable)
        await wait_until(lambda: router.stats.events_in == 3)

        reenabled = updated.model_copy(update={"version": 4})
        await kafka_kit.put_integration(reenabled)
        await wait_until(lambda: (router.table.index.get(hook.id) or hook).version == 4)
        await kafka_kit.delete_integration(hook.id)
        await wait_until(lambda: hook.id not in router.table.index)
        after_delete = make_event(store_id="C")
        await kafka_kit.emit(after_delete)
        await wait_until(lambda: router.stats.events_in == 4)

    jobs = await kafka_kit.all_jobs(Transport.WEBHOOK)
    assert pairs(jobs) == {(after_update.id, hook.id)}


async def test_invalid_input_goes_to_the_dead_letter_topic(kafka_kit: KafkaKit) -> None:
    garbage = b"\x00 not json"
    no_store = json.dumps(
        {
            "specversion": "1.0",
            "id": "e-1",
            "source": "/x",
            "type": "order.paid",
            "time": "2026-11-28T04:00:00Z",
            "orgid": "o",
            "data": {"data": {}},
        }
    ).encode()
    binary_unknown = [
        ("ce_specversion", b"1.0"),
        ("ce_id", b"e-2"),
        ("ce_source", b"/x"),
        ("ce_type", b"order.exploded"),
        ("ce_time", b"2026-11-28T04:00:00Z"),
        ("ce_orgid", b"o"),
        ("ce_storeid", b"s"),
    ]
    async with running_router(kafka_kit.settings()) as router:
        await kafka_kit.emit_raw(garbage)
        await kafka_kit.emit_raw(no_store, [("content-type", b"application/cloudevents+json")])
        await kafka_kit.emit_raw(b'{"data": {}}', binary_unknown)
        await kafka_kit.emit_raw(None)
        await kafka_kit.emit(make_event())
        await wait_until(lambda: router.stats.rejected == 4 and router.stats.events_in == 1)

    letters = await kafka_kit.read_all(kafka_kit.topics.events_dlq)
    by_reason = {dict(r.headers)["dlq-reason"].decode(): r for r in letters}
    assert set(by_reason) == {"not_json", "missing_storeid", "unknown_type", "empty"}
    assert by_reason["not_json"].value == garbage
    assert by_reason["missing_storeid"].value == no_store
    assert by_reason["empty"].value is None
    unknown = by_reason["unknown_type"]
    assert unknown.value == b'{"data": {}}'
    assert dict(unknown.headers)["ce_type"] == b"order.exploded"
    assert b"order.exploded" in dict(unknown.headers)["dlq-detail"]
    assert dict(unknown.headers)["dlq-topic"] == kafka_kit.topics.events.encode()


async def test_table_is_loaded_before_anything_is_routed(
    kafka_kit: KafkaKit,
) -> None:
    hooks = [make_integration(store_id="D") for _ in range(3)]
    for hook in hooks:
        await kafka_kit.put_integration(hook)
    events = [make_event(store_id="D") for _ in range(20)]
    for commerce_event in events:
        await kafka_kit.emit(commerce_event, key=commerce_event.id.encode())
    async with running_router(kafka_kit.settings()) as router:
        await wait_until(lambda: router.stats.events_in == len(events))
    jobs = await kafka_kit.all_jobs(Transport.WEBHOOK)
    assert pairs(jobs) == {(e.id, h.id) for e in events for h in hooks}
    assert len(jobs) == len(events) * len(hooks)


async def test_two_instances_share_the_partitions_and_both_hold_the_table(
    kafka_kit: KafkaKit,
) -> None:
    hook = make_integration(store_id="F")
    await kafka_kit.put_integration(hook)
    events = [make_event(store_id="F") for _ in range(200)]
    settings = kafka_kit.settings()
    async with running_router(settings) as first:
        for commerce_event in events[:100]:
            await kafka_kit.emit(commerce_event, key=commerce_event.id.encode())
        async with running_router(settings) as second:
            assert second.table.index.get(hook.id) == hook
            for commerce_event in events[100:]:
                await kafka_kit.emit(commerce_event, key=commerce_event.id.encode())
            wanted = {e.id for e in events}
            jobs = await kafka_kit.jobs(
                Transport.WEBHOOK, until=lambda js: {j["event"]["id"] for j in js} >= wanted
            )
            assert second.ready
    assert {j["event"]["id"] for j in jobs} == wanted
    assert first.stats.events_in + second.stats.events_in >= len(events)
