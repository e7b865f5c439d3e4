"""Sample events, integrations and jobs, for the benchmark and the tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from integrations_common.events import CommerceEvent
from integrations_common.integrations import IntegrationSnapshot, IntegrationType
from integrations_common.jobs import DeliveryJob
from integrations_common.secret_box import SecretBox

SAMPLE_SOURCE = "https://commerce.example/v2"
SAMPLE_TIME = datetime(2026, 11, 28, 5, 0, 0, 123000, tzinfo=UTC)


def sample_resource(resource_type: str = "order", resource_id: str | None = None) -> dict[str, Any]:
    """A small JSON:API resource."""
    return {
        "id": resource_id or str(uuid.uuid4()),
        "type": resource_type,
        "status": "complete",
        "meta": {"display_price": {"with_tax": {"amount": 1000, "currency": "GBP"}}},
    }


def sample_event(
    *,
    event_type: str = "order.created",
    org_id: str = "org-1",
    store_id: str | None = "store-1",
    resource: dict[str, Any] | None = None,
) -> CommerceEvent:
    """A commerce event about `resource` (a new sample resource if none is given)."""
    kind = event_type.split(".", maxsplit=1)[0]
    body = resource if resource is not None else sample_resource(kind)
    return CommerceEvent(
        id=str(uuid.uuid4()),
        source=SAMPLE_SOURCE,
        type=event_type,
        time=SAMPLE_TIME,
        orgid=org_id,
        storeid=store_id,
        data={"data": body, "included": {}},
    )


def sample_integration(
    *,
    integration_type: IntegrationType,
    configuration: dict[str, Any],
    integration_id: str | None = None,
    version: int = 1,
    org_id: str = "org-1",
    store_id: str | None = "store-1",
) -> IntegrationSnapshot:
    """An enabled integration observing everything about orders."""
    return IntegrationSnapshot(
        id=integration_id or str(uuid.uuid4()),
        org_id=org_id,
        store_id=store_id,
        name="sample",
        integration_type=integration_type,
        observes=["order.created", "order.updated", "order.deleted"],
        configuration=configuration,
        version=version,
        created_at=SAMPLE_TIME,
        updated_at=SAMPLE_TIME,
    )


def sqs_configuration(
    box: SecretBox,
    *,
    url: str,
    region: str = "us-east-1",
    access_key_id: str = "AKIAEXAMPLEEXAMPLE01",
    secret_access_key: str = "example-secret",  # noqa: S107 - a sample, not a credential
) -> dict[str, Any]:
    """An `aws_sqs` configuration as the snapshot holds it (secrets encrypted)."""
    return {
        "url": url,
        "region": region,
        "aws_access_key_id": box.encrypt(access_key_id),
        "aws_secret_access_key": box.encrypt(secret_access_key),
    }


def stomp_configuration(
    box: SecretBox,
    *,
    addresses: list[str],
    destination: str,
    username: str | None = None,
    password: str | None = None,
) -> dict[str, Any]:
    """A `stomp` configuration as the snapshot holds it (password encrypted)."""
    configuration: dict[str, Any] = {"addresses": addresses, "destination": destination}
    if username is not None:
        configuration["username"] = username
    if password is not None:
        configuration["password"] = box.encrypt(password)
    return configuration


def sample_job(event: CommerceEvent, integration: IntegrationSnapshot) -> DeliveryJob:
    """The first job for `event` and `integration`."""
    return DeliveryJob.route(event, integration, now=SAMPLE_TIME)
