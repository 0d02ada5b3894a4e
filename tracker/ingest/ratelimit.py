"""Token buckets per client IP and per site, so one noisy client or site cannot flood the spool.

Counted in events, not requests: a batch of 200 costs 200. Per worker process; with N workers
the effective limit is about N times the setting (the kernel spreads connections).
"""

from __future__ import annotations

import time
from collections import OrderedDict


class RateLimiter:
    def __init__(self, rate_per_s: float, burst: float, max_keys: int = 100_000) -> None:
        self.rate = rate_per_s
        self.burst = max(burst, rate_per_s)
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, updated)

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, key: str, cost: int, now: float | None = None) -> float:
        """0 if allowed (tokens taken), else the seconds to wait before `cost` tokens are there."""
        if not self.enabled:
            return 0.0
        now = time.monotonic() if now is None else now
        tokens, updated = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - updated) * self.rate)
        wait = 0.0
        if tokens >= cost:
            tokens -= cost
        else:
            wait = (min(cost, self.burst) - tokens) / self.rate
        self._buckets[key] = (tokens, now)  # most recently used last; the oldest are forgotten first
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait
