"""Per-integration admission: how many jobs of each integration a worker holds, and in which lane.

Every job a worker admits (parses, holds in memory, attempts) counts against its integration's
own limit, `integration_concurrency`; a job that would exceed it is set aside instead (see
`aside.py`), so one integration can never take the capacity the others need. A job in flight for
longer than `slow_after_s` leaves the fast lane for the slow lane: the fast lane gates
reading (the worker reads while it has fast-lane room), the slow lane has its own budget,
`slow_lane_concurrency`. An integration with slow jobs while that budget is spent admits nothing
more until they finish. Everything here is process memory and a speed-up: Kafka remains the
record of every job.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _Integration:
    held: int = 0
    slow: int = 0
    aside_at: float = float("-inf")
    room: asyncio.Event = field(default_factory=asyncio.Event)


class Admission:
    """Counts of held jobs per integration and per lane; decides admit or set aside."""

    def __init__(
        self,
        *,
        integration_limit: int,
        slow_lane_limit: int,
        lane_wait_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = integration_limit
        self._slow_limit = slow_lane_limit
        self._lane_wait = lane_wait_s
        self._clock = clock
        self._integrations: dict[str, _Integration] = {}
        self.fast = 0
        self.slow = 0

    def _state(self, key: str) -> _Integration:
        state = self._integrations.get(key)
        if state is None:
            state = self._integrations[key] = _Integration()
            state.room.set()
        return state

    def held(self, key: str) -> int:
        """Jobs of `key` admitted and not finished."""
        state = self._integrations.get(key)
        return state.held if state else 0

    def room(self, key: str) -> int:
        """How many more jobs of `key` may be admitted now (0 when it must wait)."""
        state = self._integrations.get(key)
        if state is None:
            return self._limit
        if state.slow and self.slow >= self._slow_limit:
            return 0
        return max(0, self._limit - state.held)

    def aside_reason(self, key: str) -> str | None:
        """Why a newly read job of `key` goes to the slow lane's topic, or None to admit it.

        `full`: the integration has no room. `lane`: it had jobs set aside for want of room
        within the last `lane_wait_s` and still holds half its limit, so its newer jobs
        follow them rather than overtake (an integration that drained below half is admitted
        directly again: a moment's overflow does not send a healthy integration's jobs round
        the slow lane).
        """
        state = self._integrations.get(key)
        if state is None:
            return None
        if self.room(key) <= 0:
            return "full"
        if self._clock() - state.aside_at < self._lane_wait and state.held * 2 >= self._limit:
            return "lane"
        return None

    def set_aside(self, key: str) -> None:
        """Note that jobs of `key` were just set aside for want of room."""
        self._state(key).aside_at = self._clock()

    def admit(self, key: str, count: int) -> None:
        """`count` jobs of `key` are held in the fast lane."""
        state = self._state(key)
        state.held += count
        self.fast += count
        if self.room(key) <= 0:
            state.room.clear()

    def to_slow(self, key: str, count: int) -> None:
        """`count` fast-lane jobs of `key` have been in flight too long."""
        state = self._state(key)
        state.slow += count
        self.fast -= count
        self.slow += count

    def release(self, key: str, count: int, *, slow: bool) -> None:
        """`count` jobs of `key` finished (their outcome is durable)."""
        state = self._state(key)
        state.held -= count
        if slow:
            state.slow -= count
            self.slow -= count
        else:
            self.fast -= count
        if state.held <= 0 and self._clock() - state.aside_at >= self._lane_wait:
            del self._integrations[key]
            state.room.set()
            self._wake_slow_waiters(slow)
            return
        if self.room(key) > 0:
            state.room.set()
        self._wake_slow_waiters(slow)

    def _wake_slow_waiters(self, slow: bool) -> None:
        """A slow-lane slot freed: integrations waiting only for the slow budget may go on."""
        if not slow or self.slow >= self._slow_limit:
            return
        for state in self._integrations.values():
            if not state.room.is_set() and state.held < self._limit:
                state.room.set()

    async def wait_room(self, key: str) -> int:
        """Wait until `key` may admit at least one job; answers how many."""
        while True:
            room = self.room(key)
            if room > 0:
                return room
            state = self._state(key)
            state.room.clear()
            await state.room.wait()

    @property
    def integrations(self) -> int:
        """Integrations with jobs held or recently set aside."""
        return len(self._integrations)
