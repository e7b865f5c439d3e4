"""A monotonic clock that tests move by hand."""

from __future__ import annotations


class FakeClock:
    """Callable like `time.monotonic`; answers `now`, which only the test changes."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now
