"""A per-integration circuit breaker, in process memory (a speed-up, never a source of truth).

Closed: every job is attempted. After `failure_threshold` consecutive failures the circuit opens:
jobs are not attempted (outcome `skipped`) and go on to their next retry tier. Once the open time
has passed, exactly one job is let through as a probe: success closes the circuit, failure opens
it again for twice as long (up to a cap).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Circuit:
    failures: int = 0
    open_until: float | None = None
    open_seconds: float = 0.0
    probing: bool = False


class CircuitBreaker:
    """Tracks consecutive failures per key (an integration id) and decides who may be tried."""

    def __init__(
        self,
        *,
        failure_threshold: int,
        open_seconds: float,
        max_open_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = failure_threshold
        self._open_seconds = open_seconds
        self._max_open_seconds = max(max_open_seconds, open_seconds)
        self._clock = clock
        self._circuits: dict[str, _Circuit] = {}

    @property
    def open_count(self) -> int:
        """How many circuits are open (or probing) now."""
        return sum(1 for c in self._circuits.values() if c.open_until is not None)

    def is_open(self, key: str) -> bool:
        """True while `key`'s circuit is open or half-open."""
        circuit = self._circuits.get(key)
        return circuit is not None and circuit.open_until is not None

    def allow(self, key: str) -> bool:
        """May a job of `key` be attempted now? Claims the probe slot when one is due."""
        circuit = self._circuits.get(key)
        if circuit is None or circuit.open_until is None:
            return True
        if circuit.probing or self._clock() < circuit.open_until:
            return False
        circuit.probing = True
        return True

    def record(self, key: str, *, succeeded: bool) -> None:
        """Account for the outcome of an attempted job."""
        if succeeded:
            self._circuits.pop(key, None)
            return
        circuit = self._circuits.setdefault(key, _Circuit())
        circuit.failures += 1
        if circuit.probing:
            circuit.probing = False
            circuit.open_seconds = min(circuit.open_seconds * 2, self._max_open_seconds)
            circuit.open_until = self._clock() + circuit.open_seconds
        elif circuit.open_until is None and circuit.failures >= self._threshold:
            circuit.open_seconds = self._open_seconds
            circuit.open_until = self._clock() + circuit.open_seconds

    def remaining(self, key: str) -> float:
        """Seconds until `key`'s circuit lets a probe through (0 when closed)."""
        circuit = self._circuits.get(key)
        if circuit is None or circuit.open_until is None:
            return 0.0
        return max(0.0, circuit.open_until - self._clock())
