"""Memory of processes, read from /proc: resident set sizes, sampled while a step runs."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path


def rss_mib(pid: int) -> float:
    """A process's resident set size in MiB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass
class RssMeter:
    """The largest RSS of some processes, sampled once a second."""

    pids: dict[str, int]
    peak: dict[str, float] = field(default_factory=dict)
    samples: list[tuple[float, dict[str, float]]] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        """Sample until `stop`."""
        while not stop.is_set():
            now = {name: rss_mib(pid) for name, pid in self.pids.items()}
            self.samples.append((time.time(), now))
            for name, value in now.items():
                self.peak[name] = max(self.peak.get(name, 0.0), value)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
