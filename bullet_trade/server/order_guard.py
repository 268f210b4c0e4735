"""Per-account order + cancel rate guard.

Exchanges flag accounts that send orders and cancels too fast (abnormal-trading rules), and
a runaway strategy can do real damage before anyone notices. Every ``broker.place_order`` and
``broker.cancel_order`` takes one token from its *account's* bucket (shared by all sessions
and tokens using that account); an empty bucket answers ``RATE_LIMITED`` with
``retry_after`` seconds. The check runs before anything is journaled or sent to the broker,
so a refused request leaves no trace but the access log. Kill-switch cancels
(``admin.halt``) are not counted.

Defaults (``ServerConfig.order_rate_limit`` / ``order_rate_burst``): 20 per second with a
burst of 40, well below exchange thresholds; ``0`` disables the guard.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from bullet_trade.errors import RateLimited
from bullet_trade.server.security.ratelimit import TokenBucket


class OrderRateGuard:
    """Token buckets keyed by account.

    Args:
        rate: orders + cancels per second per account; ``0`` disables the guard.
        burst: how many may come back to back after a quiet period.
        clock: monotonic seconds (tests).
    """

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    @property
    def enabled(self) -> bool:
        return self._rate > 0

    def check(self, account_key: str, action: str) -> None:
        """Take one token of ``account_key``.

        Raises:
            RateLimited: the account is over its rate; ``retry_after`` says for how long
                (rounded up to milliseconds, never 0).
        """
        if not self.enabled:
            return
        bucket = self._buckets.get(account_key)
        if bucket is None:
            bucket = self._buckets[account_key] = TokenBucket(self._rate, self._burst, self._clock)
        wait = bucket.acquire()
        if wait is not None:
            retry_after = max(0.001, math.ceil(wait * 1000.0) / 1000.0)
            raise RateLimited(
                f"{action}: account {account_key!r} is sending orders and cancels faster than "
                f"{self._rate:g}/s (burst {self._burst}); retry in {retry_after:g} s "
                "(下单/撤单过于频繁)",
                field="account_key",
                retry_after=retry_after,
                details={"account_key": account_key},
            )
