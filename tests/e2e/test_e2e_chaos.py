"""The fast cases of `make chaos`: a kill -9 under load loses no delivery; and the fast version
of the chaos-at-load run (`make chaos CHAOS_ARGS='--scenarios at-load ...'`,
docs/reliability.md, "At load"): webhook, SQS and STOMP traffic, two webhook senders, one of
them killed with -9 and left down: its peer takes its partitions over and nothing is lost."""

from __future__ import annotations

from typing import Any

import pytest

from bench.chaos import SCENARIOS, ScenarioResult, chaos_run_config, run_scenario

pytestmark = pytest.mark.e2e

AT_LOAD = "kill -9 webhook-sender, stays down"


async def _run(
    scenario: str, tmp_path_factory: pytest.TempPathFactory, **options: Any
) -> ScenarioResult:
    """`scenario` on a fresh chaos platform, with `options` for `run_scenario`."""
    return await run_scenario(
        scenario,
        SCENARIOS[scenario],
        run_config=chaos_run_config(),
        out_dir=tmp_path_factory.mktemp("chaos"),
        **options,
    )


@pytest.mark.usefixtures("kafka_bootstrap_servers", "mongodb_uri", "sqs_endpoint_url")
@pytest.mark.parametrize("scenario", ["kill -9 router", "kill -9 webhook-sender"])
async def test_kill_and_restart_under_load_loses_nothing(
    scenario: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    result = await _run(scenario, tmp_path_factory, rate=15, before_s=3, after_s=5, drain_s=120)

    print(f"{scenario}: {result}")  # noqa: T201 - the duplicates figure belongs in the test log
    assert result.events > 0
    assert result.lost == 0
    assert result.delivered == result.expected_deliveries


@pytest.mark.usefixtures(
    "kafka_bootstrap_servers", "mongodb_uri", "sqs_endpoint_url", "stomp_endpoint"
)
async def test_a_killed_sender_replica_that_stays_down_loses_nothing(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    result = await _run(
        AT_LOAD,
        tmp_path_factory,
        rate=20,
        before_s=2,
        after_s=3,
        drain_s=90,
        webhooks=6,
        stomp=True,
        replicas=2,
        log_wait_s=60,
        replicated=("webhook-sender",),
    )

    print(f"{AT_LOAD}: {result}")  # noqa: T201 - the duplicates figure belongs in the test log
    assert result.events > 0
    assert result.incomplete == ()
    assert result.lost == 0
    assert result.delivered == result.expected_deliveries
