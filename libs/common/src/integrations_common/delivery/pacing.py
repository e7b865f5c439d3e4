"""A token bucket that paces the skips of open circuits, so failing destinations cannot flood.

An open circuit's jobs are skipped without a request, but each skip still writes an attempt log
and a retry (or dead-letter) record, which the log writer, the store and Kafka must take in.
Skips come in waves: a hanging endpoint's backlog when its circuit opens, then the same jobs
again as each retry tier falls due. Paced, those waves spread out instead of taking the whole
machine for a moment from every healthy integration's deliveries. Pacing happens before a job
is admitted, so a job waiting for its turn holds no room: read from a partition without a turn,
it is set aside by reference (the slow lane), whose runner waits for the turn before it reads
the job again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class Pacer:
    """At most `rate` units a second on average, `burst` at once; waiters go in arrival order.

    A `rate` of 0 turns pacing off.
    """

    def __init__(
        self, *, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = rate
        self._burst = max(burst, 1.0)
        self._clock = clock
        self._tokens = self._burst
        self._at = clock()
        self._turn = asyncio.Lock()
        self.waited_s = 0.0

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now

    def try_take(self, count: int) -> bool:
        """Take `count` units now if they are there and nobody waits; False otherwise."""
        if self._rate <= 0:
            return True
        if self._turn.locked():
            return False
        self._refill()
        if self._tokens < count:
            return False
        self._tokens -= count
        return True

    async def take(self, count: int) -> float:
        """Wait for `count` units (a count above `burst` takes the bucket into debt); the wait."""
        if self._rate <= 0 or count <= 0:
            return 0.0
        async with self._turn:
            self._refill()
            wait = 0.0
            if self._tokens < min(count, self._burst):
                wait = (min(count, self._burst) - self._tokens) / self._rate
                await asyncio.sleep(wait)
                self._refill()
            self._tokens -= count
            self.waited_s += wait
            return wait
