"""`make emit`: one event from the shell, validated, in structured mode."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from integrations_common.cloudevents_codec import decode_record
from integrations_router import emit


@pytest.mark.integration
def test_emit_publishes_one_structured_event(
    kafka_kit: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ROUTER_KAFKA__BOOTSTRAP_SERVERS", kafka_kit.kafka.bootstrap_servers)
    for name, value in kafka_kit.topics.model_dump().items():
        monkeypatch.setenv(f"ROUTER_TOPICS__{name.upper()}", str(value))
    data = tmp_path / "order.json"
    data.write_text(json.dumps({"type": "order", "id": "o-9"}))
    argv = ["--type", "order.paid", "--store-id", "s-9", "--org-id", "o", "--data", str(data)]
    argv += ["--id", "emitted-1"]
    assert emit.main(argv) == 0
    assert json.loads(capsys.readouterr().out)["emitted"] == "emitted-1"


@pytest.mark.integration
async def test_emitted_event_is_on_the_topic(kafka_kit: Any) -> None:
    event = emit.build_event(
        emit._parser().parse_args(["--type", "catalog-release.created", "--org-id", "o"])
    )
    await emit.emit(event, kafka_kit.settings())
    [record] = await kafka_kit.read_all(kafka_kit.topics.events)
    assert decode_record(record.value, record.headers) == event
    assert event.storeid is None


@pytest.mark.unit
def test_invalid_events_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert emit.main(["--type", "order.paid", "--org-id", "o"]) == 1
    assert "missing_storeid" in capsys.readouterr().err
    assert emit.main(["--type", "nope.nope", "--org-id", "o", "--store-id", "s"]) == 1
    assert "unknown_type" in capsys.readouterr().err
