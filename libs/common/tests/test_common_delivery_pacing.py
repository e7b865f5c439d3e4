"""The pace of open-circuit skips: a token bucket on a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from integrations_common.delivery.pacing import Pacer
from integrations_testkit.clock import FakeClock

pytestmark = pytest.mark.unit


async def test_a_burst_goes_at_once_and_the_rest_at_the_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock()
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    monkeypatch.setattr(asyncio, "sleep", sleep)
    pacer = Pacer(rate=100, burst=50, clock=clock)
    assert await pacer.take(50) == 0.0  # the burst
    assert await pacer.take(20) == pytest.approx(0.2)  # then 100 a second
    clock.now += 10  # idle: the bucket refills up to the burst only
    assert await pacer.take(50) == 0.0
    assert await pacer.take(1) == pytest.approx(0.01)
    assert pacer.waited_s == pytest.approx(0.21)
    assert slept == [pytest.approx(0.2), pytest.approx(0.01)]


async def test_a_rate_of_zero_never_waits() -> None:
    pacer = Pacer(rate=0, burst=1)
    for _ in range(100):
        assert await pacer.take(1000) == 0.0
