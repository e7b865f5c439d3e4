"""Success rate and delivery latency of an integration, from its attempt logs."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class WindowStats:
    """What happened to the attempts that finished inside one window."""

    label: str
    attempts: int
    succeeded: int
    p50_ms: float | None
    p95_ms: float | None

    @property
    def success_rate(self) -> float | None:
        """Succeeded attempts over all attempts, or None without attempts."""
        return self.succeeded / self.attempts if self.attempts else None


def percentile(values: list[float], fraction: float) -> float | None:
    """The nearest-rank percentile (`fraction` in 0..1) of `values`; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def latency_ms(log: dict[str, Any]) -> float | None:
    """Delivery latency of one attempt: from the event's time to the end of the attempt."""
    stamps = log.get("meta", {}).get("timestamps", {})
    start, end = _time(stamps.get("event_time")), _time(stamps.get("finished_at"))
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds() * 1000)


def finished_at(log: dict[str, Any]) -> datetime | None:
    """When the attempt ended."""
    return _time(log.get("meta", {}).get("timestamps", {}).get("finished_at"))


def window_stats(
    logs: list[dict[str, Any]], *, now: datetime, span: timedelta, label: str
) -> WindowStats:
    """Stats of the attempts that finished within `span` before `now`.

    The success rate counts attempts (a retried job contributes each attempt); latency is that
    of successful attempts only, so it includes the retries' waiting when a job needed them.
    """
    since = now - span
    inside = [log for log in logs if (t := finished_at(log)) is not None and t >= since]
    succeeded = [log for log in inside if log.get("succeeded") is True]
    latencies = [v for log in succeeded if (v := latency_ms(log)) is not None]
    return WindowStats(
        label=label,
        attempts=len(inside),
        succeeded=len(succeeded),
        p50_ms=percentile(latencies, 0.50),
        p95_ms=percentile(latencies, 0.95),
    )
