"""Admission (per-integration limits, lanes) and set-aside pointers, without servers."""

from __future__ import annotations

import asyncio

import pytest

from integrations_common.delivery.admission import Admission
from integrations_common.delivery.aside import Pointer, pointers_for, slow_topic, to_ranges
from integrations_testkit.clock import FakeClock

pytestmark = pytest.mark.unit


def _admission(clock: FakeClock, *, limit: int = 2, slow_limit: int = 3) -> Admission:
    return Admission(
        integration_limit=limit, slow_lane_limit=slow_limit, lane_wait_s=1.0, clock=clock
    )


def test_an_integration_at_its_limit_is_set_aside_and_others_are_not() -> None:
    clock = FakeClock(100.0)
    admission = _admission(clock)
    assert admission.aside_reason("a") is None
    admission.admit("a", 2)
    assert admission.aside_reason("a") == "full"
    assert admission.aside_reason("b") is None
    admission.set_aside("a")
    admission.release("a", 1, slow=False)
    # room again, but newer jobs follow the set-aside ones for lane_wait_s
    assert admission.aside_reason("a") == "lane"
    clock.now += 1.5
    assert admission.aside_reason("a") is None


def test_slow_jobs_leave_the_fast_lane_and_a_full_slow_lane_stops_their_integration() -> None:
    clock = FakeClock(100.0)
    admission = _admission(clock, limit=4, slow_limit=3)
    admission.admit("a", 3)
    assert (admission.fast, admission.slow) == (3, 0)
    admission.to_slow("a", 3)
    assert (admission.fast, admission.slow) == (0, 3)
    assert admission.room("a") == 0  # slow lane full and "a" has slow jobs
    assert admission.room("b") == 4  # "b" has none: unaffected
    admission.release("a", 1, slow=True)
    assert admission.room("a") == 2
    admission.release("a", 2, slow=True)
    assert admission.integrations == 0


async def test_wait_room_wakes_when_a_job_finishes() -> None:
    admission = _admission(FakeClock(100.0), limit=1)
    admission.admit("a", 1)
    waiter = asyncio.create_task(admission.wait_room("a"))
    await asyncio.sleep(0)
    assert not waiter.done()
    admission.release("a", 1, slow=False)
    assert await asyncio.wait_for(waiter, 1) == 1


def test_pointers_round_trip_and_split_by_span() -> None:
    assert to_ranges([7, 1, 2, 3]) == [(1, 3), (7, 7)]
    (pointer,) = pointers_for("t", 2, "int-1", [5, 6, 9], max_span=100)
    assert pointer == Pointer("t", 2, "int-1", ((5, 6), (9, 9)))
    assert Pointer.decode(pointer.encode()) == pointer
    assert pointer.count == 3
    assert pointer.contains(9)
    assert not pointer.contains(7)
    split = pointers_for("t", 0, "x", list(range(250)), max_span=100)
    assert [(p.first, p.last) for p in split] == [(0, 99), (100, 199), (200, 249)]
    assert slow_topic("integrations.deliveries.sqs") == "integrations.deliveries.sqs.slow"
    with pytest.raises(ValueError, match="pointer"):
        Pointer.decode(b'{"topic": "t"}')
