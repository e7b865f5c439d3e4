"""The per-integration circuit breaker."""

from __future__ import annotations

import pytest

from integrations_common.delivery import CircuitBreaker
from integrations_testkit.clock import FakeClock

pytestmark = pytest.mark.unit


def _breaker(clock: FakeClock) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=3, open_seconds=10, max_open_seconds=25, clock=clock)


def test_opens_after_threshold_and_probes_once() -> None:
    clock = FakeClock()
    breaker = _breaker(clock)
    for _ in range(3):
        assert breaker.allow("a")
        breaker.record("a", succeeded=False)
    assert not breaker.allow("a")
    assert breaker.allow("b")
    assert breaker.open_count == 1
    clock.now = 10
    assert breaker.allow("a")  # the probe
    assert not breaker.allow("a")  # only one probe at a time
    breaker.record("a", succeeded=True)
    assert breaker.allow("a")
    assert breaker.open_count == 0


def test_failed_probe_doubles_open_time_up_to_cap() -> None:
    clock = FakeClock()
    breaker = _breaker(clock)
    for _ in range(3):
        breaker.record("a", succeeded=False)
    clock.now = 10
    assert breaker.allow("a")
    breaker.record("a", succeeded=False)
    assert breaker.remaining("a") == 20
    clock.now = 30
    assert breaker.allow("a")
    breaker.record("a", succeeded=False)
    assert breaker.remaining("a") == 25


def test_success_resets_the_count() -> None:
    breaker = _breaker(FakeClock())
    breaker.record("a", succeeded=False)
    breaker.record("a", succeeded=False)
    breaker.record("a", succeeded=True)
    breaker.record("a", succeeded=False)
    assert breaker.allow("a")
