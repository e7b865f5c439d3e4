"""Unit tests of routing one record: jobs, dead letters and their headers."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from integrations_common.cloudevents_codec import encode_binary, encode_structured
from integrations_common.events import CommerceEvent
from integrations_common.integrations import IntegrationSnapshot
from integrations_common.jobs import DeliveryJob, job_id_for
from integrations_common.settings import TopicSettings
from integrations_common.transports import Transport
from integrations_router.index import RoutingIndex
from integrations_router.job_encoding import JobEncoder, fast_job_id
from integrations_router.routing import JOB_TOO_LARGE, ROUTING_FAILED, route_record

pytestmark = pytest.mark.unit

TOPICS = TopicSettings()


@dataclass
class FakeRecord:
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    key: bytes | None = b"k"
    topic: str = "commerce.events"
    partition: int = 3
    offset: int = 42
    timestamp: int = 0


def index_of(*snapshots: IntegrationSnapshot) -> RoutingIndex:
    index = RoutingIndex()
    for s in snapshots:
        index.apply(s.id, s)
    return index


def test_one_job_per_matching_integration(
    make_snapshot: Callable[..., IntegrationSnapshot], make_event: Callable[..., CommerceEvent]
) -> None:
    hook = make_snapshot()
    queue = make_snapshot(integration_type=Transport.SQS)
    commerce_event = make_event()
    value, headers = encode_structured(commerce_event)
    routed = route_record(
        FakeRecord(value, headers),
        index=index_of(hook, queue),
        topics=TOPICS,
        now=commerce_event.time,
    )
    assert routed.rejected is None
    by_topic = {out.topic: out for out in routed.outgoing}
    assert set(by_topic) == {TOPICS.deliveries(hook.transport), TOPICS.deliveries(queue.transport)}
    out = by_topic[TOPICS.deliveries(hook.transport)]
    assert out.key == hook.id.encode()
    job = DeliveryJob.model_validate_json(out.value or b"")
    assert job.job_id == job_id_for(commerce_event.id, hook.id)
    assert (job.attempt, job.event, job.integration) == (1, commerce_event, hook)
    assert dict(out.headers)["job-id"] == job.job_id.encode()


def test_binary_mode_routes_the_same(
    make_snapshot: Callable[..., IntegrationSnapshot], make_event: Callable[..., CommerceEvent]
) -> None:
    hook = make_snapshot()
    commerce_event = make_event()
    value, headers = encode_binary(commerce_event)
    routed = route_record(
        FakeRecord(value, headers), index=index_of(hook), topics=TOPICS, now=commerce_event.time
    )
    job = json.loads(routed.outgoing[0].value or b"")
    assert job["event"]["id"] == commerce_event.id


def test_unmatched_event_produces_nothing(make_event: Callable[..., CommerceEvent]) -> None:
    value, headers = encode_structured(make_event())
    routed = route_record(
        FakeRecord(value, headers), index=RoutingIndex(), topics=TOPICS, now=make_event().time
    )
    assert routed.outgoing == []
    assert routed.event is not None


def test_invalid_record_becomes_a_dead_letter_with_original_bytes(
    make_event: Callable[..., CommerceEvent],
) -> None:
    original = b'{"specversion": "1.0", "type": "order.paid"}'
    record = FakeRecord(original, [("trace", b"t-1")])
    routed = route_record(record, index=RoutingIndex(), topics=TOPICS, now=make_event().time)
    assert routed.rejected == "missing_attribute"
    [letter] = routed.outgoing
    assert (letter.topic, letter.key, letter.value) == (TOPICS.events_dlq, b"k", original)
    headers = dict(letter.headers)
    assert headers["trace"] == b"t-1"
    assert headers["dlq-reason"] == b"missing_attribute"
    assert b"id" in headers["dlq-detail"]
    assert (headers["dlq-topic"], headers["dlq-partition"], headers["dlq-offset"]) == (
        b"commerce.events",
        b"3",
        b"42",
    )


def test_too_large_job_becomes_a_dead_letter(
    make_snapshot: Callable[..., IntegrationSnapshot], make_event: Callable[..., CommerceEvent]
) -> None:
    commerce_event = make_event()
    value, headers = encode_structured(commerce_event)
    routed = route_record(
        FakeRecord(value, headers),
        index=index_of(make_snapshot()),
        topics=TOPICS,
        now=commerce_event.time,
        max_job_bytes=100,
    )
    assert routed.rejected == JOB_TOO_LARGE
    assert [out.topic for out in routed.outgoing] == [TOPICS.events_dlq]


class ExplodingIndex(RoutingIndex):
    def match(self, event: CommerceEvent) -> list[IntegrationSnapshot]:
        raise RuntimeError("boom")


def test_unexpected_failure_becomes_a_dead_letter(make_event: Callable[..., CommerceEvent]) -> None:
    commerce_event = make_event()
    value, headers = encode_structured(commerce_event)
    routed = route_record(
        FakeRecord(value, headers), index=ExplodingIndex(), topics=TOPICS, now=commerce_event.time
    )
    assert routed.rejected == ROUTING_FAILED
    [letter] = routed.outgoing
    assert letter.value == value
    assert dict(letter.headers)["dlq-detail"] == b"RuntimeError: boom"


def test_the_job_encoder_writes_exactly_what_the_job_model_writes(
    make_snapshot: Callable[..., IntegrationSnapshot], make_event: Callable[..., CommerceEvent]
) -> None:
    encoder = JobEncoder()
    hooks = [make_snapshot(), make_snapshot(integration_type=Transport.STOMP)]
    odd = make_snapshot().model_copy(
        update={"name": 'quote " slash \\ unicode é \u2028', "configuration": {"url": "x\ty"}}
    )
    events = [make_event(), make_event(store_id=None, org_id="org-9"), make_event()]
    now = datetime(2026, 12, 3, 7, 0, 0, 123456, tzinfo=UTC)
    for commerce_event in events:
        for integration in (*hooks, odd):
            for moment in (now, now + timedelta(microseconds=1), now.replace(microsecond=0)):
                job = DeliveryJob.route(commerce_event, integration, now=moment)
                job_id, value = encoder.encode(commerce_event, integration, now=moment)
                assert job_id == job.job_id == job_id_for(commerce_event.id, integration.id)
                assert value == job.model_dump_json().encode()
    assert fast_job_id("e-1", "i-1") == job_id_for("e-1", "i-1")


def test_routing_with_the_encoder_gives_the_same_records(
    make_snapshot: Callable[..., IntegrationSnapshot], make_event: Callable[..., CommerceEvent]
) -> None:
    hook, queue = make_snapshot(), make_snapshot(integration_type=Transport.SQS)
    value, headers = encode_structured(make_event())
    record = FakeRecord(value, headers)
    now = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)
    plain = route_record(record, index=index_of(hook, queue), topics=TOPICS, now=now)
    fast = route_record(
        record, index=index_of(hook, queue), topics=TOPICS, now=now, encoder=JobEncoder()
    )
    assert fast.outgoing == plain.outgoing
    assert fast.transports == plain.transports
