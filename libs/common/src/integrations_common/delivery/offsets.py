"""Per-partition commit bookkeeping for records processed concurrently and out of order.

A partition's committable offset is the lowest offset still in flight, or one past the highest
offset started when nothing is in flight. So an offset is committed only once every record
before it has its outcome durably in Kafka, whatever order the records finish in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass, field

from aiokafka import TopicPartition


@dataclass
class _Partition:
    in_flight: set[int] = field(default_factory=set)
    next_offset: int | None = None
    committed: int | None = None
    drained: asyncio.Event = field(default_factory=asyncio.Event)


class OffsetTracker:
    """Which offsets are in flight, and what may be committed, per partition."""

    def __init__(self) -> None:
        self._partitions: dict[TopicPartition, _Partition] = {}

    def _partition(self, tp: TopicPartition) -> _Partition:
        state = self._partitions.get(tp)
        if state is None:
            state = self._partitions[tp] = _Partition()
            state.drained.set()
        return state

    def start(self, tp: TopicPartition, offset: int) -> None:
        """A record is being processed."""
        self.start_many(tp, (offset,))

    def start_many(self, tp: TopicPartition, offsets: Collection[int]) -> None:
        """Records are being processed (one call for many: a set-aside run is large)."""
        if not offsets:
            return
        state = self._partition(tp)
        state.in_flight.update(offsets)
        state.drained.clear()
        highest = max(offsets) + 1
        if state.next_offset is None or highest > state.next_offset:
            state.next_offset = highest

    def skip(self, tp: TopicPartition, offset: int) -> None:
        """A record needs no processing (it is done as soon as those before it are)."""
        self.start(tp, offset)
        self.finish(tp, offset)

    def finish(self, tp: TopicPartition, offset: int) -> None:
        """A record's outcome is durable."""
        self.finish_many(tp, (offset,))

    def finish_many(self, tp: TopicPartition, offsets: Collection[int]) -> None:
        """Records' outcomes are durable (one call for many)."""
        state = self._partitions.get(tp)
        if state is None:
            return
        state.in_flight.difference_update(offsets)
        if not state.in_flight:
            state.drained.set()

    def in_flight(self, tp: TopicPartition) -> int:
        """How many records of a partition are being processed."""
        state = self._partitions.get(tp)
        return len(state.in_flight) if state else 0

    def committable(self) -> dict[TopicPartition, int]:
        """Offsets that may be committed now and were not committed yet."""
        result: dict[TopicPartition, int] = {}
        for tp, state in self._partitions.items():
            if state.next_offset is None:
                continue
            offset = min(state.in_flight) if state.in_flight else state.next_offset
            if state.committed is None or offset > state.committed:
                result[tp] = offset
        return result

    def committed(self, offsets: dict[TopicPartition, int]) -> None:
        """Remember what Kafka acknowledged as committed."""
        for tp, offset in offsets.items():
            state = self._partitions.get(tp)
            if state is not None and (state.committed is None or offset > state.committed):
                state.committed = offset

    async def drain(self, tps: list[TopicPartition], *, timeout: float) -> bool:
        """Wait until the given partitions have nothing in flight; False on timeout."""
        events = [self._partitions[tp].drained.wait() for tp in tps if tp in self._partitions]
        if not events:
            return True
        try:
            async with asyncio.timeout(timeout):
                await asyncio.gather(*events)
        except TimeoutError:
            return False
        return True

    def forget(self, tps: list[TopicPartition]) -> None:
        """Drop the state of partitions this consumer no longer owns."""
        for tp in tps:
            self._partitions.pop(tp, None)
