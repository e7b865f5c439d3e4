"""Kafka helpers: client factories with the platform's defaults, and idempotent topic creation."""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError, for_code
from aiokafka.helpers import create_ssl_context

from integrations_common.errors import BrokerUnavailableError, ConfigurationError, map_exceptions
from integrations_common.settings import KafkaSettings, SecurityProtocol

KAFKA_ERRORS = {KafkaConnectionError: BrokerUnavailableError, KafkaError: BrokerUnavailableError}


def connection_options(settings: KafkaSettings) -> dict[str, Any]:
    """Keyword arguments that every aiokafka client needs to reach the cluster."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "client_id": settings.client_id,
        "security_protocol": settings.security_protocol.value,
        "request_timeout_ms": settings.request_timeout_ms,
    }
    if settings.security_protocol in (SecurityProtocol.SSL, SecurityProtocol.SASL_SSL):
        options["ssl_context"] = _ssl_context(settings)
    if settings.sasl_mechanism is not None and settings.sasl_password is not None:
        options["sasl_mechanism"] = settings.sasl_mechanism.value
        options["sasl_plain_username"] = settings.sasl_username
        options["sasl_plain_password"] = settings.sasl_password.get_secret_value()
    return options


def _ssl_context(settings: KafkaSettings) -> ssl.SSLContext:
    context: ssl.SSLContext = create_ssl_context(cafile=settings.ssl_cafile)
    return context


def create_producer(settings: KafkaSettings, **overrides: Any) -> AIOKafkaProducer:
    """A producer that waits for all in-sync replicas and never writes duplicates on retry."""
    options: dict[str, Any] = {
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "compression_type": None,
    }
    options.update(overrides)
    return AIOKafkaProducer(**connection_options(settings), **options)


def create_consumer(
    settings: KafkaSettings, *topics: str, group_id: str | None, **overrides: Any
) -> AIOKafkaConsumer:
    """A consumer that commits only when told to, starting from the earliest offset; in a group,
    with the settings' session timeout, heartbeat interval, rebalance timeout and instance id.
    Stop a group consumer with `kafka_group.stop_consumer`."""
    options: dict[str, Any] = {
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "isolation_level": "read_committed",
    }
    if group_id is not None:
        options.update(
            session_timeout_ms=settings.session_timeout_ms,
            heartbeat_interval_ms=settings.heartbeat_interval_ms,
            rebalance_timeout_ms=settings.rebalance_timeout_ms,
            group_instance_id=settings.group_instance_id,
        )
    options.update(overrides)
    return AIOKafkaConsumer(*topics, **connection_options(settings), **options)


@dataclass(frozen=True)
class TopicSpec:
    """What a topic should look like when it is created."""

    name: str
    partitions: int
    replication_factor: int
    config: dict[str, str] = field(default_factory=dict)


async def ensure_topics(settings: KafkaSettings, specs: Iterable[TopicSpec]) -> list[str]:
    """Create the topics that do not exist yet; answer the names created. Safe to repeat."""
    wanted = list(specs)
    admin = AIOKafkaAdminClient(**connection_options(settings))
    with map_exceptions(KAFKA_ERRORS):
        await admin.start()
        try:
            response = await admin.create_topics(
                [
                    NewTopic(
                        name=s.name,
                        num_partitions=s.partitions,
                        replication_factor=s.replication_factor,
                        topic_configs=s.config,
                    )
                    for s in wanted
                ]
            )
        finally:
            await admin.close()
    created: list[str] = []
    for topic, code, *message in response.topic_errors:
        if code == 0:
            created.append(topic)
        elif code != TopicAlreadyExistsError.errno:
            error = for_code(code)
            detail = message[0] if message and message[0] else error.description
            raise ConfigurationError(f"cannot create topic {topic}: {error.message}: {detail}")
    return created
