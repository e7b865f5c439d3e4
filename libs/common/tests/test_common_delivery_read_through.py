"""The slow lane steps back while polls read through a burst, for a bounded time."""

from __future__ import annotations

import asyncio

import pytest

from integrations_common.delivery.read_through import ReadThroughGate

pytestmark = pytest.mark.unit


async def test_a_poll_setting_aside_many_records_holds_the_slow_lane_until_one_sets_aside_few() -> (
    None
):
    gate = ReadThroughGate(threshold=100, hold_s=60, rest_s=60)

    states = []
    for set_aside in (99, 100, 5000, 0):
        gate.observe(set_aside)
        states.append(gate.is_open)

    assert states == [True, False, False, True]


async def test_the_hold_ends_by_itself_and_does_not_come_back_during_the_rest() -> None:
    gate = ReadThroughGate(threshold=100, hold_s=0.01, rest_s=60)

    gate.observe(1000)
    held = not gate.is_open
    async with asyncio.timeout(10):
        await gate.wait()
    gate.observe(1000)

    assert held
    assert gate.is_open


async def test_release_opens_the_gate_for_a_stopping_worker() -> None:
    gate = ReadThroughGate(threshold=1, hold_s=60, rest_s=0)
    gate.observe(10)
    waiter = asyncio.create_task(gate.wait())
    await asyncio.sleep(0)
    assert not waiter.done()

    gate.release()

    async with asyncio.timeout(10):
        await waiter
