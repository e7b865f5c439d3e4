"""The SQS transport against a real ElasticMQ.

ElasticMQ accepts any credentials, so "access denied" cannot be produced here: that mapping is
covered by the unit tests of `sqs_errors`; here wrong credentials are those that cannot be
decrypted, and a queue that does not exist is a real answer from the server.
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from conftest import QueueFactory
from integrations_common.integrations import IntegrationSnapshot
from integrations_common.secret_box import EncryptionSettings, SecretBox, generate_key
from integrations_common.transports import Transport
from integrations_queue_sender.message import message_document
from integrations_queue_sender.settings import SqsSettings
from integrations_queue_sender.sqs_transport import SqsTransport
from integrations_testkit.contract import QUEUE_MESSAGE_FIELDS
from integrations_testkit.factories import (
    make_event,
    make_integration,
    make_job,
    make_resource,
    sqs_configuration,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def box() -> SecretBox:
    return SecretBox(EncryptionSettings(keys=SecretStr(generate_key())))


@pytest.fixture
async def transport(sqs_endpoint_url: str, box: SecretBox) -> AsyncIterator[SqsTransport]:
    sqs = SqsTransport(settings=SqsSettings(endpoint_url=sqs_endpoint_url), box=box)
    yield sqs
    await sqs.aclose()


def _integration(box: SecretBox, url: str, **kwargs: Any) -> IntegrationSnapshot:
    return make_integration(
        integration_type=Transport.SQS,
        configuration=sqs_configuration(box, url=url),
        **kwargs,
    )


async def _receive_all(sqs_client: Any, url: str, expected: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for _ in range(20):
        response = await sqs_client.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=1,
        )
        messages.extend(response.get("Messages", []))
        if len(messages) >= expected:
            break
    return messages


async def test_message_arrives_with_exactly_the_cloudevent_fields(
    transport: SqsTransport, sqs_queue_factory: QueueFactory, sqs_client: Any, box: SecretBox
) -> None:
    url = await sqs_queue_factory("qs-exact")
    resource = make_resource("order", "order-42")
    job = make_job(make_event(resource=resource), _integration(box, url))

    [outcome] = await transport.deliver([job])

    assert outcome.succeeded, outcome.error_detail
    assert outcome.started_at is not None
    assert outcome.finished_at is not None
    assert outcome.started_at <= outcome.finished_at
    [message] = await _receive_all(sqs_client, url, 1)
    assert json.loads(outcome.body)["MessageId"] == message["MessageId"]
    document = json.loads(message["Body"])
    assert document == message_document(job)
    assert sorted(document) == sorted(QUEUE_MESSAGE_FIELDS)
    assert document["data"] == resource
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes == {
        "ce-id": job.event.id,
        "ce-type": job.event.type,
        "content-type": "application/cloudevents+json",
    }


async def test_fifo_queue_gets_group_and_deduplication_ids(
    transport: SqsTransport, sqs_queue_factory: QueueFactory, sqs_client: Any, box: SecretBox
) -> None:
    url = await sqs_queue_factory("qs-fifo", fifo=True)
    integration = _integration(box, url)
    jobs = [
        make_job(make_event(resource=make_resource("order", f"order-{n % 2}")), integration)
        for n in range(4)
    ]

    outcomes = await transport.deliver(jobs)

    assert all(o.succeeded for o in outcomes), [o.error_detail for o in outcomes]
    messages = await _receive_all(sqs_client, url, 4)
    seen = {
        json.loads(m["Body"])["id"]: (
            m["Attributes"]["MessageGroupId"],
            m["Attributes"]["MessageDeduplicationId"],
        )
        for m in messages
    }
    assert seen == {job.event.id: (job.event.resource["id"], job.job_id) for job in jobs}


async def test_a_batch_with_one_bad_entry_fails_only_that_entry(
    transport: SqsTransport, sqs_queue_factory: QueueFactory, sqs_client: Any, box: SecretBox
) -> None:
    url = await sqs_queue_factory("qs-batch")
    integration = _integration(box, url)
    bad = make_resource("order", "bad")
    bad["note"] = "not allowed in SQS: \uffff"
    jobs = [make_job(make_event(), integration) for _ in range(5)]
    jobs.insert(2, make_job(make_event(resource=bad), integration))

    outcomes = await transport.deliver(jobs)

    assert [o.succeeded for o in outcomes] == [True, True, False, True, True, True]
    assert outcomes[2].error_detail is not None
    assert outcomes[2].error_detail.startswith("SQS rejected the message (")
    messages = await _receive_all(sqs_client, url, 5)
    delivered = {json.loads(m["Body"])["id"] for m in messages}
    assert delivered == {j.event.id for n, j in enumerate(jobs) if n != 2}


async def test_unknown_queue_is_a_failed_attempt_that_says_so(
    transport: SqsTransport, sqs_endpoint_url: str, sqs_queue_factory: QueueFactory, box: SecretBox
) -> None:
    good = await sqs_queue_factory("qs-good")
    missing = f"{sqs_endpoint_url}/000000000000/qs-missing-queue-{id(box)}"
    jobs = [
        make_job(make_event(), _integration(box, missing)),
        make_job(make_event(), _integration(box, missing)),
        make_job(make_event(), _integration(box, good)),
    ]

    outcomes = await transport.deliver(jobs)

    for outcome in outcomes[:2]:
        assert not outcome.succeeded
        assert outcome.give_up  # a queue that does not exist is permanent
        assert outcome.status_code == 400
        assert outcome.error_detail == (
            f"the SQS queue {missing} does not exist (QueueDoesNotExist)"
        )
    assert outcomes[2].succeeded


async def test_undecryptable_credentials_fail_only_their_integration(
    transport: SqsTransport, sqs_queue_factory: QueueFactory, box: SecretBox
) -> None:
    url = await sqs_queue_factory("qs-creds")
    other_box = SecretBox(EncryptionSettings(keys=SecretStr(generate_key())))
    foreign = make_integration(
        integration_type=Transport.SQS,
        configuration=sqs_configuration(other_box, url=url),
    )
    jobs = [make_job(make_event(), foreign), make_job(make_event(), _integration(box, url))]

    outcomes = await transport.deliver(jobs)

    assert outcomes[0].error_detail == (
        "configuration.aws_access_key_id cannot be decrypted with the configured keys"
    )
    assert outcomes[1].succeeded


async def test_unreachable_endpoint_is_a_retryable_failure(box: SecretBox) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    endpoint = f"http://127.0.0.1:{closed_port}"
    sqs = SqsTransport(
        settings=SqsSettings(endpoint_url=endpoint, max_attempts=1, connect_timeout_s=1), box=box
    )
    try:
        [outcome] = await sqs.deliver(
            [make_job(make_event(), _integration(box, f"{endpoint}/000000000000/q"))]
        )
    finally:
        await sqs.aclose()
    assert not outcome.succeeded
    assert outcome.error_detail is not None
    assert outcome.error_detail.startswith(
        f"SQS request to {endpoint} failed (EndpointConnectionError)"
    )


async def test_new_integration_version_with_new_credentials_gets_a_new_client(
    transport: SqsTransport, sqs_queue_factory: QueueFactory, box: SecretBox
) -> None:
    url = await sqs_queue_factory("qs-version")
    v1 = _integration(box, url, integration_id="int-versioned", version=1)
    v2 = make_integration(
        integration_type=Transport.SQS,
        configuration=sqs_configuration(box, url=url, secret_access_key="rotated"),
        integration_id="int-versioned",
        version=2,
    )
    clients = transport._clients

    assert (await transport.deliver([make_job(make_event(), v1)]))[0].succeeded
    assert len(clients) == 1
    outcomes = await transport.deliver([make_job(make_event(), v2), make_job(make_event(), v1)])
    assert all(o.succeeded for o in outcomes)
    assert len(clients) == 1


async def test_clients_beyond_the_cap_are_closed(
    sqs_endpoint_url: str, sqs_queue_factory: QueueFactory, box: SecretBox
) -> None:
    url = await sqs_queue_factory("qs-cap")
    sqs = SqsTransport(settings=SqsSettings(endpoint_url=sqs_endpoint_url, max_clients=1), box=box)
    keys = ("AKIAFIRSTFIRSTFIRST1", "AKIASECONDSECONDSEC2")
    integrations = [
        make_integration(
            integration_type=Transport.SQS,
            configuration=sqs_configuration(box, url=url, access_key_id=key),
        )
        for key in keys
    ]
    try:
        for integration in integrations:
            [outcome] = await sqs.deliver([make_job(make_event(), integration)])
            assert outcome.succeeded, outcome.error_detail
        assert [k[0] for k in sqs._clients._entries] == [keys[1]]
    finally:
        await sqs.aclose()
