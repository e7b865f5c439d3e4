"""The fast cases of `make chaos`: a kill -9 under load loses no delivery."""

from __future__ import annotations

import pytest

from bench.chaos import SCENARIOS, chaos_run_config, run_scenario

pytestmark = pytest.mark.e2e


@pytest.mark.usefixtures("kafka_bootstrap_servers", "mongodb_uri", "sqs_endpoint_url")
@pytest.mark.parametrize("scenario", ["kill -9 router", "kill -9 webhook-sender"])
async def test_kill_and_restart_under_load_loses_nothing(
    scenario: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    result = await run_scenario(
        scenario,
        SCENARIOS[scenario],
        run_config=chaos_run_config(),
        out_dir=tmp_path_factory.mktemp("chaos"),
        rate=15,
        before_s=3,
        after_s=5,
        drain_s=120,
    )

    print(f"{scenario}: {result}")  # noqa: T201 - the duplicates figure belongs in the test log
    assert result.events > 0
    assert result.lost == 0
    assert result.delivered == result.expected_deliveries
