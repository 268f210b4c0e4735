"""Injectable clocks. Nothing in bullet-trade reads wall time directly: it asks a Clock.

All clocks return naive datetimes in China Standard Time (the exchange's local time).
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
from typing import Protocol

CHINA_TZ = timezone(timedelta(hours=8), name="Asia/Shanghai")


class Clock(Protocol):
    """A source of "now" and a way to wait for a moment."""

    def now(self) -> datetime:
        """Current exchange-local time (naive, UTC+8)."""
        ...

    async def sleep_until(self, when: datetime) -> None:
        """Return once ``now() >= when``."""
        ...


class WallClock:
    """Real time, in UTC+8 whatever the machine's time zone."""

    def now(self) -> datetime:
        return datetime.now(CHINA_TZ).replace(tzinfo=None)

    async def sleep_until(self, when: datetime) -> None:
        delay = (when - self.now()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)


class AcceleratedClock:
    """Starts at ``start`` and runs ``speed`` times faster than real time (replay / demos)."""

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._start = start
        self._speed = speed
        self._t0 = time.monotonic()

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._t0) * self._speed
        return self._start + timedelta(seconds=elapsed)

    async def sleep_until(self, when: datetime) -> None:
        delay = (when - self.now()).total_seconds() / self._speed
        if delay > 0:
            await asyncio.sleep(delay)


class ManualClock:
    """A clock that only moves when told to (tests). Waiters wake when time passes them."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._changed: asyncio.Condition | None = None

    def now(self) -> datetime:
        return self._now

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    async def sleep_until(self, when: datetime) -> None:
        cond = self._condition()
        async with cond:
            await cond.wait_for(lambda: self._now >= when)

    async def set(self, when: datetime) -> None:
        """Move to ``when`` (never backwards) and wake every waiter that is due."""
        if when < self._now:
            raise ValueError("a ManualClock never goes backwards")
        self._now = when
        cond = self._condition()
        async with cond:
            cond.notify_all()

    async def advance(self, delta: timedelta) -> None:
        await self.set(self._now + delta)


class SteppedClock(ManualClock):
    """A ManualClock driven by one owner (the live runner in replay/demo mode).

    Everyone else waits in :meth:`sleep_until` as with a ManualClock; the owner calls
    :meth:`step_to`, which moves time forward at once and lets the woken waiters run
    (e.g. the simulator's matching pass) before returning. A trading day then runs in
    milliseconds, deterministically.
    """

    async def step_to(self, when: datetime) -> None:
        if when > self.now():
            await self.set(when)
        # let tasks woken by the jump run before the owner continues
        for _ in range(3):
            await asyncio.sleep(0)
