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


async def test_try_take_takes_only_what_is_there_and_never_ahead_of_a_waiter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock()
    pacer = Pacer(rate=10, burst=2, clock=clock)
    assert pacer.try_take(1)
    assert pacer.try_take(1)
    assert not pacer.try_take(1)  # empty: the job is set aside instead of waiting in a lane
    clock.now += 0.1
    assert pacer.try_take(1)
    released = asyncio.Event()
    yield_to_loop = asyncio.sleep

    async def sleep(seconds: float) -> None:
        await released.wait()
        clock.now += seconds

    monkeypatch.setattr(asyncio, "sleep", sleep)
    waiter = asyncio.create_task(pacer.take(1))
    await yield_to_loop(0)  # the waiter holds its turn, asleep
    clock.now += 10
    assert not pacer.try_take(1)  # a waiter goes first, whatever the bucket holds
    released.set()
    await waiter
    assert pacer.try_take(1)
    assert Pacer(rate=0, burst=1).try_take(10**6)
