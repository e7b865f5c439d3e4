"""Delivery jobs and attempt logs: deterministic ids and attempt bookkeeping."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from integrations_common.attempts import AttemptLog, JobStatus, log_id_for, truncate_body
from integrations_common.events import CommerceEvent
from integrations_common.integrations import IntegrationSnapshot
from integrations_common.jobs import JOB_NAMESPACE, DeliveryJob, job_id_for
from integrations_common.transports import Transport

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _event(**overrides: object) -> CommerceEvent:
    fields: dict[str, object] = {
        "id": "ev-1",
        "source": "https://commerce.example",
        "type": "order.paid",
        "time": T0,
        "orgid": "org-1",
        "storeid": "store-1",
        "data": {"data": {"type": "order", "id": "o-1"}},
    }
    fields.update(overrides)
    return CommerceEvent.model_validate(fields)


def _integration(kind: Transport = Transport.WEBHOOK) -> IntegrationSnapshot:
    return IntegrationSnapshot(
        id="int-1",
        org_id="org-1",
        store_id="store-1",
        name="Order paid",
        integration_type=kind,
        observes=["order.paid"],
        configuration={"url": "https://receiver.example/hook"},
        version=1,
        created_at=T0,
        updated_at=T0,
    )


def test_job_ids_are_deterministic_and_distinct() -> None:
    assert job_id_for("ev-1", "int-1") == job_id_for("ev-1", "int-1")
    assert job_id_for("ev-1", "int-1") != job_id_for("ev-1", "int-2")
    assert job_id_for("ev-1", "int-1") != job_id_for("ev-2", "int-1")


@pytest.mark.parametrize(
    ("event_id", "integration_id", "attempt"),
    [("ev-1", "int-1", 1), ("", "", 7), ("évènement-€", "int-\x00-ß", 123456), ("e" * 300, "i", 2)],
)
def test_ids_are_the_uuid5s_of_the_wire_contract(
    event_id: str, integration_id: str, attempt: int
) -> None:
    """Old and new processes run side by side: the ids must stay exactly `uuid.uuid5`'s."""
    job_id = job_id_for(event_id, integration_id)
    assert job_id == str(uuid.uuid5(JOB_NAMESPACE, f"{event_id}\x00{integration_id}"))
    assert log_id_for(job_id, attempt) == str(
        uuid.uuid5(JOB_NAMESPACE, f"{job_id}\x00attempt\x00{attempt}")
    )


def test_route_then_next_attempt() -> None:
    job = DeliveryJob.route(_event(), _integration(), now=T0)
    later = job.next_attempt(not_before=T0 + timedelta(seconds=5), attempted_at=T0)

    assert (job.attempt, later.attempt) == (1, 2)
    assert later.job_id == job.job_id
    assert later.not_before == T0 + timedelta(seconds=5)
    assert later.first_attempted_at == T0
    assert job.kafka_key == b"int-1"
    assert DeliveryJob.model_validate_json(later.model_dump_json()) == later


def test_transport_follows_integration_type() -> None:
    assert _integration(Transport.SQS).transport is Transport.SQS
    assert _integration(Transport.STOMP).transport is Transport.STOMP


def test_event_tenant_and_deletion() -> None:
    store_event = _event()
    org_event = _event(storeid=None, type="catalog-release.deleted")

    assert store_event.tenant.key == "store:store-1"
    assert org_event.tenant.key == "org:org-1"
    assert org_event.is_deletion
    assert not store_event.is_deletion


def test_naive_event_time_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone"):
        _event(time=datetime(2026, 1, 1))


def test_attempt_log_for_job() -> None:
    job = DeliveryJob.route(_event(), _integration(), now=T0)
    log = AttemptLog.for_job(
        job,
        succeeded=False,
        job_status=JobStatus.RETRYING,
        started_at=T0,
        finished_at=T0 + timedelta(milliseconds=250),
        status_code=500,
        body=b"x" * 100_000,
        error_detail="Received a status code outside of 2xx range - treating webhook as a fail",
    )

    assert log.id == log_id_for(job.job_id, 1)
    assert len(log.body) == 64 * 1024
    assert log.latency_ms == 250
    assert log.transport is Transport.WEBHOOK


def test_truncate_body_keeps_text_valid() -> None:
    assert truncate_body("é" * 3, limit=3) == "é\ufffd"
