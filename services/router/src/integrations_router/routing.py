"""Routing one input record: decode it, match it, and build its jobs or its dead letter."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from integrations_common.cloudevents_codec import InvalidEventError, decode_record
from integrations_common.events import CommerceEvent
from integrations_common.jobs import DeliveryJob
from integrations_common.kafka_send import OutgoingRecord
from integrations_common.settings import TopicSettings
from integrations_common.transports import Transport
from integrations_router.dead_letters import dead_letter, truncated
from integrations_router.index import RoutingIndex
from integrations_router.job_encoding import JobEncoder

JOB_CONTENT_TYPE = b"application/json"
JOB_TOO_LARGE = "job_too_large"
ROUTING_FAILED = "routing_failed"

logger = logging.getLogger(__name__)


@dataclass
class Routed:
    """What one input record turned into."""

    outgoing: list[OutgoingRecord] = field(default_factory=list)
    transports: list[Transport] = field(default_factory=list)
    event: CommerceEvent | None = None
    rejected: str | None = None


def _job_headers(job_id: str, event: CommerceEvent) -> list[tuple[str, bytes]]:
    return [
        ("content-type", JOB_CONTENT_TYPE),
        ("job-id", job_id.encode()),
        ("event-type", event.type.encode()),
    ]


def job_record(job: DeliveryJob, topics: TopicSettings) -> OutgoingRecord:
    """The deliveries-topic record of a job, keyed by integration id."""
    return OutgoingRecord(
        topic=topics.deliveries(job.integration.transport),
        key=job.kafka_key,
        value=job.model_dump_json().encode(),
        headers=_job_headers(job.job_id, job.event),
    )


def _rejected(
    record: Any,
    *,
    topics: TopicSettings,
    reason: str,
    detail: str,
    now: datetime,
    max_dead_letter_bytes: int,
) -> Routed:
    letter = dead_letter(
        record=record, topic=topics.events_dlq, reason=reason, detail=detail, now=now
    )
    return Routed(outgoing=[truncated(letter, max_bytes=max_dead_letter_bytes)], rejected=reason)


def route_record(
    record: Any,
    *,
    index: RoutingIndex,
    topics: TopicSettings,
    now: datetime,
    max_job_bytes: int = 1_000_000,
    max_dead_letter_bytes: int = 1_000_000,
    encoder: JobEncoder | None = None,
) -> Routed:
    """Turn one consumed record into delivery jobs, or into a dead letter with its reason.

    With an `encoder`, jobs are encoded from parts serialised once (`job_encoding`); the bytes
    are the same.

    A job larger than `max_job_bytes` could never be produced; its event is dead-lettered
    (reason `job_too_large`) instead of blocking the partition. Any unexpected failure is
    dead-lettered too (reason `routing_failed`, logged with its traceback), so one odd record
    can neither crash the worker nor be dropped. A dead letter larger than
    `max_dead_letter_bytes` keeps the head of its value that fits (`dead_letters.truncated`).
    """
    reject = partial(
        _rejected, record, topics=topics, now=now, max_dead_letter_bytes=max_dead_letter_bytes
    )
    try:
        return _route(
            record,
            index=index,
            topics=topics,
            now=now,
            max_job_bytes=max_job_bytes,
            reject=reject,
            encoder=encoder,
        )
    except InvalidEventError as exc:
        return reject(reason=exc.reason.value, detail=exc.detail)
    except Exception as exc:
        logger.exception(
            "routing a record failed",
            extra={"partition": record.partition, "offset": record.offset},
        )
        detail = f"{type(exc).__name__}: {exc}"
        return reject(reason=ROUTING_FAILED, detail=detail)


def _route(
    record: Any,
    *,
    index: RoutingIndex,
    topics: TopicSettings,
    now: datetime,
    max_job_bytes: int,
    reject: Callable[..., Routed],
    encoder: JobEncoder | None,
) -> Routed:
    event = decode_record(record.value, record.headers)
    routed = Routed(event=event)
    for integration in index.match(event):
        if encoder is None:
            outgoing = job_record(DeliveryJob.route(event, integration, now=now), topics)
        else:
            job_id, value = encoder.encode(event, integration, now=now)
            outgoing = OutgoingRecord(
                topic=topics.deliveries(integration.transport),
                key=integration.id.encode(),
                value=value,
                headers=_job_headers(job_id, event),
            )
        if len(outgoing.value or b"") > max_job_bytes:
            detail = f"the job for integration {integration.id} exceeds {max_job_bytes} bytes"
            return reject(reason=JOB_TOO_LARGE, detail=detail)
        routed.outgoing.append(outgoing)
        routed.transports.append(integration.transport)
    return routed
