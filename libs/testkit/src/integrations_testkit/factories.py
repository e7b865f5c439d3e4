"""One set of builders of events, integrations, jobs and attempt logs, for every test and
benchmark."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pydantic import SecretStr

from integrations_common.attempts import AttemptLog, JobStatus, log_id_for
from integrations_common.events import CommerceEvent
from integrations_common.integrations import IntegrationSnapshot
from integrations_common.jobs import DeliveryJob, job_id_for
from integrations_common.secret_box import EncryptionSettings, SecretBox, generate_key
from integrations_common.transports import Transport

SOURCE = "https://commerce.example/v2"
T0 = datetime(2026, 11, 28, 5, 0, 0, 123000, tzinfo=UTC)


def new_secret_box() -> SecretBox:
    """A box with a fresh key, standing in for the platform's configured keys."""
    return SecretBox(EncryptionSettings(keys=SecretStr(generate_key())))


def make_resource(resource_type: str = "order", resource_id: str | None = None) -> dict[str, Any]:
    """A small JSON:API resource."""
    return {
        "id": resource_id or str(uuid.uuid4()),
        "type": resource_type,
        "status": "complete",
        "meta": {"display_price": {"with_tax": {"amount": 1000, "currency": "GBP"}}},
    }


def make_event(
    event_id: str | None = None,
    *,
    event_type: str = "order.paid",
    org_id: str = "org-1",
    store_id: str | None = "store-1",
    resource: dict[str, Any] | None = None,
    time: datetime = T0,
    source: str = SOURCE,
) -> CommerceEvent:
    """A commerce event about `resource` (a new sample resource if none is given).

    A `*.deleted` event carries only the resource's type and id, as producers send it.
    """
    kind = event_type.split(".", maxsplit=1)[0]
    body = resource if resource is not None else make_resource(kind)
    if event_type.endswith(".deleted") and resource is None:
        body = {"type": body["type"], "id": body["id"]}
    return CommerceEvent(
        id=event_id or str(uuid.uuid4()),
        source=source,
        type=event_type,
        time=time,
        orgid=org_id,
        storeid=store_id,
        data={"data": body, "included": {}},
    )


def make_integration(
    *,
    integration_type: Transport = Transport.WEBHOOK,
    configuration: dict[str, Any] | None = None,
    integration_id: str | None = None,
    version: int = 1,
    org_id: str | None = "org-1",
    store_id: str | None = "store-1",
    observes: list[str] | None = None,
    enabled: bool = True,
) -> IntegrationSnapshot:
    """An integration snapshot as the API publishes it (secrets in `configuration` encrypted)."""
    return IntegrationSnapshot(
        id=integration_id or str(uuid.uuid4()),
        org_id=org_id,
        store_id=store_id,
        name="Order paid notification",
        description="Fire an event on order paid",
        enabled=enabled,
        integration_type=integration_type,
        observes=observes if observes is not None else ["order.paid"],
        configuration=configuration or {"url": "http://127.0.0.1:1/hook"},
        version=version,
        created_at=T0,
        updated_at=T0,
    )


def make_job(
    event: CommerceEvent, integration: IntegrationSnapshot, *, now: datetime | None = None
) -> DeliveryJob:
    """The first job for `event` and `integration`."""
    return DeliveryJob.route(event, integration, now=now)


def make_attempt_log(
    integration_id: str,
    event_id: str,
    number: int,
    *,
    ok: bool,
    tenant: Mapping[str, str],
    base: datetime = datetime(2026, 1, 1, tzinfo=UTC),
) -> AttemptLog:
    """Webhook attempt `number` of the job of (`event_id`, `integration_id`): a 200, or a 404
    to retry; it is routed and started `number` minutes after `base` and lasts a second."""
    job_id = job_id_for(event_id, integration_id)
    start = base + timedelta(minutes=number)
    return AttemptLog(
        id=log_id_for(job_id, number),
        job_id=job_id,
        integration_id=integration_id,
        org_id=tenant["org_id"],
        store_id=tenant["store_id"],
        transport=Transport.WEBHOOK,
        event_id=event_id,
        event_type="order.paid",
        attempt=number,
        succeeded=ok,
        status_code=200 if ok else 404,
        body="OK" if ok else "Not Found",
        error_detail=None if ok else "Received a status code outside of 2xx range",
        job_status=JobStatus.SUCCEEDED if ok else JobStatus.RETRYING,
        event_time=start,
        routed_at=start,
        started_at=start,
        finished_at=start + timedelta(seconds=1),
    )


def webhook_configuration(
    *, url: str, secret: str | None = None, box: SecretBox | None = None
) -> dict[str, Any]:
    """A `webhook` configuration as the snapshot holds it (the secret encrypted)."""
    configuration: dict[str, Any] = {"url": url}
    if secret is not None:
        if box is None:
            raise ValueError("a secret needs a box to encrypt it")
        configuration["secret_key"] = box.encrypt(secret)
    return configuration


def make_webhook_job(
    url: str,
    *,
    secret: str | None = None,
    box: SecretBox | None = None,
    event: CommerceEvent | None = None,
    integration_id: str | None = None,
) -> DeliveryJob:
    """A first-attempt webhook job for `url`, its secret encrypted like the API stores it."""
    event = event or make_event(time=datetime.now(UTC))
    integration = make_integration(
        configuration=webhook_configuration(url=url, secret=secret, box=box),
        integration_id=integration_id,
        store_id=event.storeid,
        observes=[event.type],
    )
    return make_job(event, integration)


JobFactory = Callable[..., DeliveryJob]


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


class StompServer(Protocol):
    """Where a STOMP broker listens, and how to log in."""

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def login(self) -> str | None: ...
    @property
    def passcode(self) -> str | None: ...


def sqs_integration(box: SecretBox, *, url: str) -> IntegrationSnapshot:
    """An `aws_sqs` integration sending to the queue at `url`."""
    return make_integration(
        integration_type=Transport.SQS, configuration=sqs_configuration(box, url=url)
    )


def stomp_integration(
    box: SecretBox,
    server: StompServer,
    destination: str,
    *,
    addresses: list[str] | None = None,
    password: str | None = None,
) -> IntegrationSnapshot:
    """A `stomp` integration sending to `destination` on `server` (with its login)."""
    return make_integration(
        integration_type=Transport.STOMP,
        configuration=stomp_configuration(
            box,
            addresses=addresses or [f"stomp://{server.host}:{server.port}"],
            destination=destination,
            username=server.login,
            password=server.passcode if password is None else password,
        ),
    )
