"""Queue messages carry the attempt's context as the CloudEvents distributed-tracing extension
(`traceparent`), on a real ElasticMQ and a real ActiveMQ; without tracing they do not."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from pydantic import SecretStr

from conftest import QueueFactory, StompEndpoint
from integrations_common.secret_box import EncryptionSettings, SecretBox, generate_key
from integrations_common.settings import SsrfSettings
from integrations_common.tracing import job_traceparents
from integrations_common.transports import Transport
from integrations_queue_sender.settings import SqsSettings, StompSettings
from integrations_queue_sender.sqs_transport import SqsTransport
from integrations_queue_sender.stomp_transport import StompTransport
from integrations_testkit.factories import (
    make_event,
    make_integration,
    make_job,
    sqs_configuration,
    stomp_integration,
)
from integrations_testkit.stomp_subscriber import StompSubscriber

pytestmark = pytest.mark.integration

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture(scope="module")
def box() -> SecretBox:
    return SecretBox(EncryptionSettings(keys=SecretStr(generate_key())))


async def test_sqs_messages_carry_traceparent(
    sqs_endpoint_url: str, sqs_queue_factory: QueueFactory, sqs_client: Any, box: SecretBox
) -> None:
    url = await sqs_queue_factory("qs-trace")
    integration = make_integration(
        integration_type=Transport.SQS, configuration=sqs_configuration(box, url=url)
    )
    traced, untraced = (make_job(make_event(), integration) for _ in range(2))
    transport = SqsTransport(settings=SqsSettings(endpoint_url=sqs_endpoint_url), box=box)
    try:
        with job_traceparents({traced.job_id: PARENT}):
            outcomes = await transport.deliver([traced, untraced])
    finally:
        await transport.aclose()
    assert all(o.succeeded for o in outcomes), [o.error_detail for o in outcomes]
    bodies: dict[str, dict[str, Any]] = {}
    async with asyncio.timeout(30):
        while len(bodies) < 2:
            response = await sqs_client.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            )
            for message in response.get("Messages", []):
                document = json.loads(message["Body"])
                bodies[document["id"]] = document
    assert bodies[traced.event.id]["traceparent"] == PARENT
    assert "traceparent" not in bodies[untraced.event.id]


async def test_stomp_messages_carry_traceparent(
    stomp_endpoint: StompEndpoint, box: SecretBox, destination: str, subscriber: StompSubscriber
) -> None:
    job = make_job(make_event(), stomp_integration(box, stomp_endpoint, destination))
    transport = StompTransport(
        policy=SsrfSettings(allow_cidrs="127.0.0.0/8,::1/128").policy(),
        settings=StompSettings(connect_timeout_s=2, receipt_timeout_s=5, reconnect_backoff_s=0),
        box=box,
    )
    try:
        with job_traceparents({job.job_id: PARENT}):
            [outcome] = await transport.deliver([job])
        assert outcome.succeeded, outcome.error_detail
        [frame] = await asyncio.to_thread(subscriber.wait_for, 1)
    finally:
        await transport.aclose()
    assert json.loads(frame.body)["traceparent"] == PARENT
