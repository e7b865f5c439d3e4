"""Retry schedule parsing, tier topics and tier choice (Retry-After)."""

from __future__ import annotations

import pytest

from integrations_common.delivery import DEFAULT_SCHEDULE, DeliverySettings, RetrySchedule
from integrations_common.delivery.schedule import delay_label, parse_delay

pytestmark = pytest.mark.unit


def test_default_schedule() -> None:
    schedule = DeliverySettings().schedule
    assert str(schedule) == DEFAULT_SCHEDULE
    assert schedule.delays == (5, 30, 120, 600, 1800, 3600, 10_800, 21_600, 43_200, 86_400)
    assert schedule.tier_topic("d.webhook", 9) == "d.webhook.retry.24h"


@pytest.mark.parametrize(
    ("text", "seconds"), [("5s", 5), ("2m", 120), ("1h", 3600), ("1d", 86_400), ("90", 90)]
)
def test_parse_delay(text: str, seconds: int) -> None:
    assert parse_delay(text) == seconds


@pytest.mark.parametrize("text", ["", "0s", "5x", "-1s", "1.5m"])
def test_bad_delays_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="delay"):
        parse_delay(text)


def test_labels_are_canonical() -> None:
    assert [delay_label(s) for s in (5, 60, 90, 7200, 86_400)] == ["5s", "1m", "90s", "2h", "24h"]
    assert DeliverySettings(retry_schedule="5s 60s, 1h").retry_schedule == "5s,1m,1h"


@pytest.mark.parametrize("text", ["30s,5s", "5s,5s", ""])
def test_schedules_must_increase(text: str) -> None:
    with pytest.raises(ValueError, match="retry"):
        DeliverySettings(retry_schedule=text)


def test_next_tier_walks_the_schedule_then_stops() -> None:
    schedule = RetrySchedule.parse("1s,2s,10s")
    assert schedule.next_tier(current=None) == 0
    assert schedule.next_tier(current=0) == 1
    assert schedule.next_tier(current=2) is None


def test_next_tier_honours_retry_after() -> None:
    schedule = RetrySchedule.parse("1s,2s,10s")
    assert schedule.next_tier(current=None, retry_after=1) == 0
    assert schedule.next_tier(current=None, retry_after=3) == 2
    assert schedule.next_tier(current=None, retry_after=60) == 2
    assert schedule.next_tier(current=2, retry_after=60) is None
