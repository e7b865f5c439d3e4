"""The slow lane steps back while the consumer reads through a queued burst.

Kafka is read in order, so another integration's job queued behind a burst of one integration
is reached only once the consumer has read past the burst (setting its jobs aside by
reference). Meanwhile the slow lane delivers that same burst, on the same event loop and CPU.
While polls keep setting aside many records, the slow lane waits, at most `hold_s` in a row
and then not again for `rest_s`, so the burst's own delivery keeps its share of the time.
"""

from __future__ import annotations

import asyncio


class ReadThroughGate:
    """Open unless the last poll set aside at least `threshold` records (bounded, see above)."""

    def __init__(self, *, threshold: int, hold_s: float, rest_s: float) -> None:
        self._threshold = threshold
        self._hold_s = hold_s
        self._rest_s = rest_s
        self._open = asyncio.Event()
        self._open.set()
        self._timer: asyncio.TimerHandle | None = None
        self._no_hold_before = 0.0

    @property
    def is_open(self) -> bool:
        """True when the slow lane may go on."""
        return self._open.is_set()

    def observe(self, set_aside: int) -> None:
        """A poll's pass set aside `set_aside` records."""
        if set_aside < self._threshold:
            self.release()
            return
        loop = asyncio.get_running_loop()
        if self._timer is None and loop.time() >= self._no_hold_before:
            self._open.clear()
            self._timer = loop.call_later(self._hold_s, self._expire)

    async def wait(self) -> None:
        """Until the slow lane may go on."""
        await self._open.wait()

    def release(self) -> None:
        """Open now (the burst is read through, or the worker stops)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._open.set()

    def _expire(self) -> None:
        self._timer = None
        self._no_hold_before = asyncio.get_running_loop().time() + self._rest_s
        self._open.set()
