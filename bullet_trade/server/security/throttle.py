"""Failed-authentication throttling per source IP.

The first failed handshake of an IP is answered at once (a typo costs nothing); each further
one waits longer before the answer (``delay``, ``2·delay``, ``4·delay`` ... up to
``delay_max``); after ``fail_limit``
failures in a row the IP is banned for ``ban_seconds``: its connections are closed before
any frame is read. A successful handshake clears the IP's record. Memory is bounded: at most
``max_entries`` IPs are tracked (the oldest record is dropped first).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Record:
    failures: int = 0
    banned_until: float = 0.0


class AuthThrottle:
    """Args:
    fail_limit: failures before a ban; ``0`` never bans (delays still apply).
    ban_seconds: ban length.
    delay / delay_max: first delay and cap (seconds).
    clock: monotonic seconds (injectable for tests).
    max_entries: IPs tracked at most.
    """

    def __init__(
        self,
        *,
        fail_limit: int,
        ban_seconds: float,
        delay: float,
        delay_max: float,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 10_000,
    ) -> None:
        self._fail_limit = fail_limit
        self._ban_seconds = ban_seconds
        self._delay = delay
        self._delay_max = delay_max
        self._clock = clock
        self._max_entries = max_entries
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def banned_for(self, ip: str) -> float:
        """Seconds left of ``ip``'s ban (0 when it is not banned)."""
        record = self._records.get(ip)
        if record is None:
            return 0.0
        left = record.banned_until - self._clock()
        if left <= 0 and record.banned_until:
            # the ban expired: start over
            del self._records[ip]
            return 0.0
        return max(0.0, left)

    def record_failure(self, ip: str) -> tuple[float, bool]:
        """Count a failed handshake.

        Returns:
            (seconds to wait before answering, True when this failure started a ban).
        """
        record = self._records.pop(ip, None) or _Record()
        self._records[ip] = record  # most recent last
        self._evict()
        record.failures += 1
        delay = 0.0
        if record.failures > 1:
            delay = min(self._delay_max, self._delay * 2.0 ** (record.failures - 2))
        banned = bool(self._fail_limit) and record.failures >= self._fail_limit
        if banned:
            record.banned_until = self._clock() + self._ban_seconds
        return delay, banned

    def _evict(self) -> None:
        """Keep at most ``max_entries`` records, dropping the oldest that holds no active
        ban first (a flood of new addresses must not lift a ban)."""
        excess = len(self._records) - self._max_entries
        if excess <= 0:
            return
        now = self._clock()
        idle = [k for k, r in self._records.items() if r.banned_until <= now][:excess]
        for key in idle:
            del self._records[key]
        while len(self._records) > self._max_entries:  # only bans left: oldest first
            self._records.popitem(last=False)

    def record_success(self, ip: str) -> None:
        """Forget ``ip``'s failures."""
        self._records.pop(ip, None)
