"""CPU use of processes, read from /proc: seconds of user+system time, sampled over intervals."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU seconds the process has used so far, or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / CLOCK_TICKS


@dataclass
class CpuMeter:
    """Measures, per named process, the share of one core used between `start` and `stop`."""

    pids: dict[str, int]
    _start: dict[str, float] = field(default_factory=dict)

    def start(self) -> None:
        """Remember each process's CPU time now."""
        self._start = {name: cpu_seconds(pid) or 0.0 for name, pid in self.pids.items()}

    def stop(self, elapsed: float) -> dict[str, float]:
        """Percent of one core each process used over `elapsed` seconds since `start`."""
        usage: dict[str, float] = {}
        for name, pid in self.pids.items():
            now = cpu_seconds(pid)
            if now is not None and elapsed > 0:
                usage[name] = round(100 * (now - self._start.get(name, 0.0)) / elapsed, 1)
        return usage


def listening_pid(port: int) -> int | None:
    """The process that listens on TCP `port` (IPv4 or IPv6), read from /proc; None if none is
    found (or its sockets are not readable)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (proc / "fd").iterdir()):
                return int(proc.name)
        except OSError:
            continue
    return None


def pid_from_file(path: Path) -> int | None:
    """The pid a pid file names, if that process is alive."""
    try:
        pid = int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if cpu_seconds(pid) is not None else None
