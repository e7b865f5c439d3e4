"""One record type, and two ways to "send them all and wait for the acks".

`send_all` (the router, and the delivery worker's records that must go alone) packs the records
into one batch per partition, built here, not record by record. `send_each` (the delivery
worker's outcomes, written by many concurrent batches) hands every record to the producer's
accumulator, which merges concurrent writers' records into batches: packed batches from many
writers would queue behind one another, since the producer keeps one batch per partition in
flight.

`AIOKafkaProducer.send` costs tens of microseconds per record in Python (partitioning with a
pure-Python murmur2, the accumulator, one future per record); profiled under `make bench-router`
it was the router's largest cost. `send_all` groups records by topic and partition (the same
partition `send` would choose: the default partitioner, cached per key, since a router writes
to few keys), appends them to `BatchBuilder`s and hands them over with `send_batch`, one future
per batch. `send_each` spares what it can: one coroutine for all the records, no task per
record, and the partition chosen here with a faster murmur2 than aiokafka's pure-Python one.
The outcome is reported per record either way.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner

_KEY_CACHE_SIZE = 100_000
# What a record costs beyond its key, value and headers (record and batch framing), generously.
_RECORD_OVERHEAD = 512


@dataclass(frozen=True)
class OutgoingRecord:
    """One record to produce."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    dead_letter: bool = False

    @property
    def size(self) -> int:
        """Bytes of key, value and headers, plus the record's framing."""
        headers = sum(len(name) + len(value) for name, value in self.headers)
        return len(self.key or b"") + len(self.value or b"") + headers + _RECORD_OVERHEAD


_MASK = 0xFFFFFFFF
_M = 0x5BD1E995


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 of `data`: the same value as aiokafka's `partitioner.murmur2`, about
    four times faster (the 4-byte words are unpacked at once)."""
    length = len(data)
    h = 0x9747B28C ^ length
    words = length >> 2
    for word in struct.unpack_from(f"<{words}I", data):
        k = (word * _M) & _MASK
        k ^= k >> 24
        h = ((h * _M) & _MASK) ^ ((k * _M) & _MASK)
    rest = length & 3
    if rest:
        tail = length - rest
        if rest >= 3:
            h ^= data[tail + 2] << 16
        if rest >= 2:
            h ^= data[tail + 1] << 8
        h = ((h ^ data[tail]) * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)


class CachedPartitioner:
    """The producer's default partitioner, remembered per (key, partition count)."""

    def __init__(self) -> None:
        self._default = DefaultPartitioner()
        self._by_key: dict[tuple[bytes, int], int] = {}

    def partition(self, key: bytes | None, partitions: list[int]) -> int:
        """The partition `send` would choose for `key` among `partitions` (all, sorted)."""
        if key is None:
            chosen: int = self._default(None, partitions, partitions)
            return chosen
        cache_key = (key, len(partitions))
        found = self._by_key.get(cache_key)
        if found is None:
            if len(self._by_key) >= _KEY_CACHE_SIZE:
                self._by_key.clear()
            found = self._by_key[cache_key] = self.hashed(key, partitions)
        return found

    @staticmethod
    def hashed(key: bytes, partitions: list[int]) -> int:
        """The default partitioner's choice for `key`, not remembered (for keys seen once)."""
        return partitions[(murmur2(key) & 0x7FFFFFFF) % len(partitions)]


async def send_each(
    producer: AIOKafkaProducer, outgoing: Sequence[OutgoingRecord]
) -> list[BaseException | None]:
    """Like `send_all` without packing: every record through the producer's accumulator.

    The records are handed to the producer one after the other from this coroutine, each with
    the partition `send` would choose (`CachedPartitioner.hashed`: attempt logs are keyed by
    job id, so a cache per key would not help), then every acknowledgement is awaited.
    """
    results: list[BaseException | None] = [None] * len(outgoing)
    futures: list[tuple[int, asyncio.Future[Any]]] = []
    known: dict[str, list[int]] = {}
    failed: dict[str, KafkaError] = {}  # the topic's other records fail alike, without a wait
    for index, out in enumerate(outgoing):
        error = failed.get(out.topic)
        if error is None:
            try:
                partitions = await _partitions(producer, out.topic, known)
            except KafkaError as exc:
                error = failed[out.topic] = exc
        if error is not None:
            results[index] = error
            continue
        partition = None if out.key is None else CachedPartitioner.hashed(out.key, partitions)
        try:
            future = await producer.send(
                out.topic, value=out.value, key=out.key, headers=out.headers, partition=partition
            )
        except KafkaError as exc:
            results[index] = exc
            continue
        futures.append((index, future))
    for index, future in futures:
        try:
            await future
        except KafkaError as exc:
            results[index] = exc
    return results


async def send_all(
    producer: AIOKafkaProducer,
    outgoing: Sequence[OutgoingRecord],
    partitioner: CachedPartitioner,
) -> list[BaseException | None]:
    """Send every record, packed into one batch per partition here (for a single writer of many
    records at a time); answer, per record, the error that stopped it or None once acked."""
    results: list[BaseException | None] = [None] * len(outgoing)
    groups: dict[tuple[str, int], list[int]] = {}
    known: dict[str, list[int]] = {}
    for index, out in enumerate(outgoing):
        try:
            partitions = await _partitions(producer, out.topic, known)
        except KafkaError as exc:
            results[index] = exc
            continue
        place = (out.topic, partitioner.partition(out.key, partitions))
        groups.setdefault(place, []).append(index)
    batches: list[tuple[asyncio.Future[Any], list[int]]] = []
    for (topic, partition), members in groups.items():
        for batch, indices in _batches(producer, outgoing, members):
            try:
                batches.append(
                    (await producer.send_batch(batch, topic, partition=partition), indices)
                )
            except KafkaError as exc:
                for index in indices:
                    results[index] = exc
    for future, indices in batches:
        try:
            await future
        except KafkaError as exc:
            for index in indices:
                results[index] = exc
    return results


async def _partitions(
    producer: AIOKafkaProducer, topic: str, known: dict[str, list[int]]
) -> list[int]:
    """`topic`'s partitions, sorted, asked of the producer once per call (`known` keeps them);
    raises the producer's `KafkaError` when it cannot tell."""
    partitions = known.get(topic)
    if partitions is None:
        partitions = known[topic] = sorted(await producer.partitions_for(topic))
    return partitions


def _batches(
    producer: AIOKafkaProducer, outgoing: Sequence[OutgoingRecord], members: list[int]
) -> list[tuple[Any, list[int]]]:
    """`members` (indices into `outgoing`) packed into as few full batches as they need."""
    done: list[tuple[Any, list[int]]] = []
    indices: list[int] = []
    batch = producer.create_batch()
    for index in members:
        out = outgoing[index]
        if batch.append(key=out.key, value=out.value, timestamp=None, headers=out.headers) is None:
            done.append((batch, indices))
            indices = []
            batch = producer.create_batch()
            # The first record of a batch always fits, whatever its size.
            batch.append(key=out.key, value=out.value, timestamp=None, headers=out.headers)
        indices.append(index)
    if indices:
        done.append((batch, indices))
    return done
