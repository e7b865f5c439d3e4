"""A token bucket per tenant, in this process: the API's rate limit (429 with `Retry-After`)."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

from integrations_api.settings import RateLimitSettings


class TenantRateLimiter:
    """Buckets of `burst` tokens refilled at `requests_per_s`; one token per request.

    Only the `max_tenants` most recently seen tenants keep a bucket (least recently seen first
    out), so memory stays bounded whatever the number of tenants. Single-threaded (event loop).
    """

    def __init__(
        self, settings: RateLimitSettings, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> int | None:
        """Spend one of `key`'s tokens: None when allowed, else whole seconds until one is back."""
        settings = self._settings
        if not settings.enabled:
            return None
        now = self._clock()
        tokens, updated = self._buckets.pop(key, (float(settings.burst), now))
        tokens = min(float(settings.burst), tokens + (now - updated) * settings.requests_per_s)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > settings.max_tenants:
            self._buckets.popitem(last=False)
        if allowed:
            return None
        return max(1, math.ceil((1.0 - tokens) / settings.requests_per_s))
