"""Setting jobs aside by reference: the slow lane's topic holds pointers, not copies.

When an integration is over its limit, the jobs of it that the worker reads are not parsed or
held: one small record per (partition, integration, fetch) goes to `<deliveries topic>.slow`,
naming the source topic, partition and offsets. Once Kafka has acknowledged it, those offsets
count as done and the source partition's offset may be committed past them, so the partition
reads on for everybody else. The worker consumes the slow topic too and, for each pointer, reads
the referenced records again with a reader outside the consumer group (`SideReader`) and attempts
them under the integration's limit. Writing a pointer costs one small record, where copying
100,000 jobs of a burst would cost 100,000 writes (measured: reading 50,000 2 KiB records took
0.36 s, reading and copying them 2.9 s).

A pointer is valid while the source topic retains the records it names (deliveries and tier
topics keep records for at least a week); a referenced record that is gone is logged and counted
(`integrations_delivery_set_aside_missing_total`), never silently dropped.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from integrations_common.settings import SLOW_LANE_SUFFIX

SET_ASIDE_HEADER = "x-set-aside"


def slow_topic(deliveries_topic: str) -> str:
    """The slow lane's topic of a deliveries topic."""
    return f"{deliveries_topic}{SLOW_LANE_SUFFIX}"


def to_ranges(offsets: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted offsets as inclusive runs: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    ranges: list[tuple[int, int]] = []
    for offset in sorted(offsets):
        if ranges and offset == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], offset)
        else:
            ranges.append((offset, offset))
    return ranges


@dataclass(frozen=True)
class Pointer:
    """Jobs of one integration set aside from one source partition."""

    topic: str
    partition: int
    integration_id: str
    ranges: tuple[tuple[int, int], ...]

    @property
    def count(self) -> int:
        """How many records the pointer names."""
        return sum(hi - lo + 1 for lo, hi in self.ranges)

    @property
    def first(self) -> int:
        """The lowest offset named."""
        return self.ranges[0][0]

    @property
    def last(self) -> int:
        """The highest offset named."""
        return self.ranges[-1][1]

    def contains(self, offset: int) -> bool:
        """Is `offset` one of the named offsets?"""
        return any(lo <= offset <= hi for lo, hi in self.ranges)

    def encode(self) -> bytes:
        """The record value."""
        document = {
            "v": 1,
            "topic": self.topic,
            "partition": self.partition,
            "integration_id": self.integration_id,
            "ranges": [list(r) for r in self.ranges],
        }
        return json.dumps(document, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, value: bytes) -> Pointer:
        """A pointer from its record value; ValueError if it is not one."""
        try:
            document: Any = json.loads(value)
            ranges = tuple((int(lo), int(hi)) for lo, hi in document["ranges"])
            pointer = cls(
                topic=str(document["topic"]),
                partition=int(document["partition"]),
                integration_id=str(document["integration_id"]),
                ranges=ranges,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a set-aside pointer: {exc!r}") from exc
        if not ranges or any(lo > hi for lo, hi in ranges):
            raise ValueError("not a set-aside pointer: empty or inverted ranges")
        return pointer


def pointers_for(
    topic: str, partition: int, integration_id: str, offsets: Sequence[int], *, max_span: int
) -> list[Pointer]:
    """Pointers naming `offsets`, each spanning at most `max_span` offsets of the source."""
    pointers: list[Pointer] = []
    chunk: list[int] = []
    for offset in sorted(offsets):
        if chunk and offset - chunk[0] >= max_span:
            pointers.append(Pointer(topic, partition, integration_id, tuple(to_ranges(chunk))))
            chunk = []
        chunk.append(offset)
    if chunk:
        pointers.append(Pointer(topic, partition, integration_id, tuple(to_ranges(chunk))))
    return pointers


class SideReader:
    """Reads referenced records again, outside the consumer group, one pointer at a time."""

    def __init__(self, consumer: AIOKafkaConsumer, *, timeout: float = 10.0) -> None:
        self._consumer = consumer
        self._lock = asyncio.Lock()
        self._timeout = timeout

    async def read(self, pointer: Pointer) -> tuple[list[ConsumerRecord], int]:
        """The records the pointer names that still exist, and how many are missing."""
        tp = TopicPartition(pointer.topic, pointer.partition)
        found: list[ConsumerRecord] = []
        end = pointer.last + 1
        async with self._lock:
            consumer = self._consumer
            if consumer.assignment() != {tp}:
                consumer.assign([tp])
            consumer.seek(tp, pointer.first)
            position = pointer.first
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self._timeout
            named = {o for lo, hi in pointer.ranges for o in range(lo, hi + 1)}
            while position < end and loop.time() < deadline:
                batch = await consumer.getmany(tp, timeout_ms=500, max_records=500)
                # the range read holds other integrations' records too
                found.extend(r for r in batch.get(tp, []) if r.offset in named)
                position = await consumer.position(tp)
        if position < end:
            raise TimeoutError(f"reading {tp.topic}/{tp.partition} up to {end} timed out")
        return found, pointer.count - len(found)

    async def stop(self) -> None:
        """Close the reader's consumer."""
        await self._consumer.stop()
