"""Commit bookkeeping with records finishing out of order."""

from __future__ import annotations

import pytest
from aiokafka import TopicPartition

from integrations_common.delivery.offsets import OffsetTracker

pytestmark = pytest.mark.unit

TP = TopicPartition("t", 0)


def test_commits_only_up_to_the_lowest_record_in_flight() -> None:
    tracker = OffsetTracker()
    for offset in (10, 11, 12):
        tracker.start(TP, offset)
    tracker.finish(TP, 12)
    tracker.finish(TP, 11)
    assert tracker.committable() == {TP: 10}
    tracker.committed({TP: 10})
    assert tracker.committable() == {}
    tracker.finish(TP, 10)
    assert tracker.committable() == {TP: 13}


def test_skipped_records_advance_the_commit() -> None:
    tracker = OffsetTracker()
    tracker.skip(TP, 4)
    assert tracker.committable() == {TP: 5}


async def test_drain_waits_for_records_in_flight() -> None:
    tracker = OffsetTracker()
    tracker.start(TP, 1)
    assert not await tracker.drain([TP], timeout=0.01)
    tracker.finish(TP, 1)
    assert await tracker.drain([TP], timeout=0.01)
    tracker.forget([TP])
    assert tracker.committable() == {}


async def test_a_set_aside_run_starts_and_finishes_in_one_call() -> None:
    tracker = OffsetTracker()
    tracker.start(TP, 3)
    tracker.start_many(TP, [5, 4, 6])
    tracker.start_many(TP, [])
    assert tracker.in_flight(TP) == 4
    tracker.finish(TP, 3)
    assert tracker.committable() == {TP: 4}
    tracker.finish_many(TP, [4, 5])
    assert tracker.committable() == {TP: 6}
    assert not await tracker.drain([TP], timeout=0.01)
    tracker.finish_many(TP, [6])
    assert tracker.committable() == {TP: 7}
    assert await tracker.drain([TP], timeout=0.01)
