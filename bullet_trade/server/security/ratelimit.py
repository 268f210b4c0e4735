"""Per-session request rate limit: a token bucket.

The bucket holds at most ``burst`` tokens and refills at ``rate`` tokens per second; each
request takes one. An empty bucket means ``RATE_LIMITED`` with the seconds until the next
token (``retry_after``).
"""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """Args:
    rate: tokens added per second; ``0`` disables the limit (every request passes).
    burst: bucket size (requests allowed back to back after a quiet period).
    clock: monotonic seconds (injectable for tests).
    """

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._updated = clock()

    def acquire(self) -> float | None:
        """Take one token. Returns ``None`` when allowed, else the seconds to wait (> 0)."""
        if self._rate <= 0:
            return None
        now = self._clock()
        elapsed = max(0.0, now - self._updated)
        self._updated = now
        self._tokens = min(self._burst, self._tokens + elapsed * self._rate)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return None
        return (1.0 - self._tokens) / self._rate
