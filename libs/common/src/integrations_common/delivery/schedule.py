"""The retry schedule: delays, their tier topics, and which tier a failed attempt goes to.

A schedule is a list of delays, written `5s,30s,2m,10m,30m,1h,3h,6h,12h,24h`. Tier `i` is the
topic `<deliveries topic>.retry.<label i>`; a job read from the deliveries topic that fails goes
to tier 0, a job read from tier `i` goes to tier `i + 1`, and after the last tier to `.dlq`.
A receiver's `Retry-After` moves the job to the first later tier whose delay covers it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_SCHEDULE = "5s,30s,2m,10m,30m,1h,3h,6h,12h,24h"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
_DELAY = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
MAX_TIERS = 32


def parse_delay(text: str) -> int:
    """Seconds in `30s`, `2m`, `1h`, `1d` or a bare number of seconds."""
    match = _DELAY.match(text.lower())
    if match is None:
        raise ValueError(f"'{text}' is not a delay such as 30s, 2m or 1h")
    seconds = int(match.group(1)) * _UNITS[match.group(2) or "s"]
    if seconds <= 0:
        raise ValueError(f"'{text}': a retry delay must be positive")
    return seconds


def delay_label(seconds: int) -> str:
    """The canonical spelling of a delay, used in topic names: 5s, 2m, 1h, 24h."""
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True)
class RetrySchedule:
    """Increasing retry delays in seconds, one retry tier per delay."""

    delays: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.delays:
            raise ValueError("a retry schedule needs at least one delay")
        if len(self.delays) > MAX_TIERS:
            raise ValueError(f"a retry schedule has at most {MAX_TIERS} delays")
        if any(b <= a for a, b in zip(self.delays, self.delays[1:], strict=False)):
            raise ValueError("retry delays must strictly increase")

    @classmethod
    def parse(cls, text: str) -> RetrySchedule:
        """A schedule from `5s,30s,2m` (commas or spaces between delays)."""
        parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
        return cls(tuple(parse_delay(p) for p in parts))

    @property
    def labels(self) -> tuple[str, ...]:
        """The tier labels, in order."""
        return tuple(delay_label(d) for d in self.delays)

    def __str__(self) -> str:
        return ",".join(self.labels)

    def tier_topic(self, deliveries_topic: str, tier: int) -> str:
        """The topic of tier `tier` (0-based) of a deliveries topic."""
        return f"{deliveries_topic}.retry.{self.labels[tier]}"

    def tier_topics(self, deliveries_topic: str) -> list[str]:
        """Every tier topic of a deliveries topic, shortest delay first."""
        return [self.tier_topic(deliveries_topic, i) for i in range(len(self.delays))]

    def next_tier(self, *, current: int | None, retry_after: float | None = None) -> int | None:
        """The tier after a failure, or None when the schedule is exhausted (dead letter).

        `current` is the tier the job was read from (None for the deliveries topic itself).
        With `retry_after`, the first tier at or after the normal one whose delay covers it
        is chosen; if none does, the last tier (its due time then honours `retry_after`).
        """
        tier = 0 if current is None else current + 1
        if tier >= len(self.delays):
            return None
        if retry_after is not None and retry_after > self.delays[tier]:
            covering = [i for i in range(tier, len(self.delays)) if self.delays[i] >= retry_after]
            tier = covering[0] if covering else len(self.delays) - 1
        return tier
