"""Static group membership: a restarted process takes back its own partitions at once.

A consumer with `group.instance.id` (KIP-345) is a static member: when it dies and a process
with the same id rejoins within the session timeout, the coordinator hands it the same
partitions without a rebalance, and the other members never stop. aiokafka never sends a
LeaveGroup for a static member, so a graceful stop would leave its partitions idle for the
whole session timeout (a rolling deploy gives each pod a new name); `stop_consumer` sends the
LeaveGroup by instance id (version 3 of the request, which aiokafka lacks) after the consumer
has stopped, so the group rebalances at once, as for a dynamic member.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.client import AIOKafkaClient, CoordinationType
from aiokafka.errors import for_code
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import Array, Int16, Int32, Schema, String

from integrations_common.errors import BrokerUnavailableError, map_exceptions
from integrations_common.kafka import KAFKA_ERRORS, connection_options
from integrations_common.settings import KafkaSettings

logger = logging.getLogger(__name__)

_UNKNOWN_MEMBER_ID = ""
LEAVE_TIMEOUT_S = 5.0


class _LeaveGroupResponseV3(Response):  # type: ignore[misc]
    API_KEY = 13
    API_VERSION = 3
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("error_code", Int16),
        (
            "members",
            Array(
                ("member_id", String("utf-8")),
                ("group_instance_id", String("utf-8")),
                ("error_code", Int16),
            ),
        ),
    )


class _LeaveGroupRequestV3(RequestStruct):  # type: ignore[misc]
    API_KEY = 13
    API_VERSION = 3
    RESPONSE_TYPE = _LeaveGroupResponseV3
    SCHEMA = Schema(
        ("group", String("utf-8")),
        ("members", Array(("member_id", String("utf-8")), ("group_instance_id", String("utf-8")))),
    )


class _LeaveByInstanceId(Request[_LeaveGroupRequestV3]):  # type: ignore[misc]
    """Asks the coordinator to remove the static member with this instance id."""

    API_KEY = 13

    def __init__(self, group_id: str, instance_id: str) -> None:
        self._group_id = group_id
        self._instance_id = instance_id

    def build(self, request_struct_class: type[_LeaveGroupRequestV3]) -> _LeaveGroupRequestV3:
        return request_struct_class(self._group_id, [(_UNKNOWN_MEMBER_ID, self._instance_id)])


async def leave_group(settings: KafkaSettings, *, group_id: str, instance_id: str) -> None:
    """Remove a static member from its group now, so its partitions go to the others; within
    `LEAVE_TIMEOUT_S` (a stopping process must not wait long for a broker that is away)."""
    client = AIOKafkaClient(**connection_options(settings))
    try:
        with map_exceptions(KAFKA_ERRORS):
            async with asyncio.timeout(LEAVE_TIMEOUT_S):
                await client.bootstrap()
                node = await client.coordinator_lookup(CoordinationType.GROUP, group_id)
                response: Any = await client.send(node, _LeaveByInstanceId(group_id, instance_id))
    except TimeoutError as exc:
        raise BrokerUnavailableError(
            f"cannot leave group {group_id}: no answer within {LEAVE_TIMEOUT_S:g} s"
        ) from exc
    finally:
        await client.close()
    codes = [response.error_code, *(member[2] for member in response.members)]
    failed = next((code for code in codes if code), 0)
    if failed:
        error = for_code(failed)
        raise BrokerUnavailableError(f"cannot leave group {group_id}: {error.message}")


async def stop_consumer(
    consumer: AIOKafkaConsumer, settings: KafkaSettings, *, group_id: str | None
) -> None:
    """Stop a consumer; a static group member then leaves its group (best effort, logged)."""
    await consumer.stop()
    instance_id = settings.group_instance_id
    if group_id is None or instance_id is None:
        return
    try:
        await leave_group(settings, group_id=group_id, instance_id=instance_id)
    except BrokerUnavailableError as exc:
        logger.warning(
            "could not leave the group; its partitions wait for the session timeout",
            extra={"group": group_id, "error": str(exc)},
        )
    else:
        logger.info("left the group", extra={"group": group_id})
