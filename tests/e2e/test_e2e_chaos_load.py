"""The fast version of the chaos-at-load run (`make chaos CHAOS_ARGS='--scenarios at-load ...'`,
docs/reliability.md, "At load"): webhook, SQS and STOMP traffic, two webhook senders, and one
of them killed with -9 and left down: its peer takes its partitions over and nothing is lost."""

from __future__ import annotations

import pytest

from bench.chaos import SCENARIOS, chaos_run_config, run_scenario

pytestmark = pytest.mark.e2e

SCENARIO = "kill -9 webhook-sender, stays down"


@pytest.mark.usefixtures(
    "kafka_bootstrap_servers", "mongodb_uri", "sqs_endpoint_url", "stomp_endpoint"
)
async def test_a_killed_sender_replica_that_stays_down_loses_nothing(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    result = await run_scenario(
        SCENARIO,
        SCENARIOS[SCENARIO],
        run_config=chaos_run_config(),
        out_dir=tmp_path_factory.mktemp("chaos-load"),
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

    print(f"{SCENARIO}: {result}")  # noqa: T201 - the duplicates figure belongs in the test log
    assert result.events > 0
    assert result.incomplete == ()
    assert result.lost == 0
    assert result.delivered == result.expected_deliveries
