"""Unit tests of applying config-topic records to the table (no Kafka: records are fakes)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from integrations_common.integrations import IntegrationSnapshot
from integrations_common.settings import KafkaSettings
from integrations_router.metrics import CONFIG_REJECTED
from integrations_router.table import IntegrationTable

pytestmark = pytest.mark.unit


@dataclass
class ConfigRecord:
    key: bytes | None
    value: bytes | None
    partition: int = 0
    offset: int = 0


def table() -> IntegrationTable:
    return IntegrationTable(kafka=KafkaSettings(), topic="config")


def test_snapshots_and_tombstones_apply(make_snapshot: Callable[..., IntegrationSnapshot]) -> None:
    integrations = table()
    snapshot = make_snapshot()
    key = snapshot.id.encode()
    integrations._apply_all([ConfigRecord(key, snapshot.model_dump_json().encode())])
    assert integrations.index.get(snapshot.id) == snapshot
    integrations._apply_all([ConfigRecord(key, None)])
    assert snapshot.id not in integrations.index


def test_invalid_config_records_are_ignored_and_counted(
    make_snapshot: Callable[..., IntegrationSnapshot],
) -> None:
    integrations = table()
    snapshot = make_snapshot()
    integrations._apply_all(
        [ConfigRecord(snapshot.id.encode(), snapshot.model_dump_json().encode())]
    )
    before = CONFIG_REJECTED._value.get()
    integrations._apply_all(
        [
            ConfigRecord(snapshot.id.encode(), b"{not json"),
            ConfigRecord(b"another-id", snapshot.model_dump_json().encode()),
            ConfigRecord(None, None),
        ]
    )
    assert CONFIG_REJECTED._value.get() - before == 3
    assert integrations.index.get(snapshot.id) == snapshot
    assert len(integrations.index) == 1
