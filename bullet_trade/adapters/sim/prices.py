"""Deterministic prices of the simulated exchange.

For a given ``seed`` every code has one fixed daily close path starting at :data:`ORIGIN`
(generated sequentially, because day ``d``'s previous close is day ``d-1``'s close and the
price limits depend on it), and one fixed set of minute bars per day. Random numbers come from
``numpy`` generators seeded with a stable hash of ``(seed, code, purpose, block)``, so the same
request always returns the same data, in any process.

Rules respected: every price is on the tick; each close lies within the day's price limits
(a return beyond the limit is clamped there, so limit-up/down days occur); minute bars
aggregate exactly into the daily bar.

The price path is generated in blocks of trading days (indices counted from ``ORIGIN`` on the
trading calendar) and cached per code; minute blocks are kept in a small LRU cache.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from bullet_trade.adapters.sim.intraday import BarArrays, DayFrame, generate_block
from bullet_trade.adapters.sim.universe import (
    ORIGIN,
    Profile,
    is_known,
    is_st,
    profile,
    stable_seed,
)
from bullet_trade.model.calendar import TradingCalendar
from bullet_trade.model.codes import Security
from bullet_trade.model.rules import (
    ST_LIMIT_CHANGE,
    Board,
    board_of,
    limit_ratio,
    price_decimals,
    tick_size,
)

#: Chance per trading day that a synthetic stock is suspended (see :func:`suspensions_apply`).
SUSPEND_PROBABILITY = 0.004
CLOSE_BLOCK = 256  # trading days per block of random close draws
MINUTE_BLOCK = 32  # trading days per block of minute bars
_MINUTE_CACHE = 48  # minute blocks kept (all codes together)
_REVERSION = 0.02  # daily pull of the log price towards the profile level
_JUMP = 1.05  # a jump day's extra return, as a multiple of the limit ratio (so it clamps)


def limits_in_ticks(
    security: Security, pre_close: int, ratio: float | None = None
) -> tuple[int, int]:
    """(low, high) price limits in ticks for a previous close in ticks.

    ``ratio`` is the day's limit ratio (default: :func:`rules.limit_ratio` of a non-ST
    security). Indices have no limit; the simulator uses ±10 % for them (informational only,
    indices are not tradable). Exact integer round-half-up, identical to
    :func:`rules.price_limits` (which rounds the exact decimal product too).
    """
    if ratio is None:
        ratio = limit_ratio(security)
    pct = 10 if ratio is None else round(ratio * 100)
    up = pre_close * (100 + pct)
    down = pre_close * (100 - pct)
    return (max((down + 50) // 100, 1), (up + 50) // 100)


def suspensions_apply(security: Security) -> bool:
    """Scheduled suspension days exist for synthetic stocks only: the well-known codes of the
    universe (used by examples and the demo) always trade."""
    board = board_of(security)
    stock = board in (Board.MAIN, Board.CHINEXT, Board.STAR, Board.BSE)
    return stock and not is_known(security)


@dataclass(slots=True)
class _ClosePath:
    """Close prices (ticks) per trading-day index; ``origin`` is the pre-close of day 0;
    ``suspended`` flags the scheduled suspension days (close = previous close)."""

    origin: int
    closes: list[int]
    suspended: list[bool]


class PriceModel:
    """Daily and minute bars of any code, on a trading calendar, for one seed."""

    def __init__(self, seed: int, calendar: TradingCalendar) -> None:
        self.seed = seed
        self.calendar = calendar
        self._days: list[date] = []
        self._index: dict[date, int] = {}
        self._paths: dict[Security, _ClosePath] = {}
        self._daily: dict[tuple[Security, int], BarArrays] = {}
        self._minutes: OrderedDict[tuple[Security, int], BarArrays] = OrderedDict()
        self._st_change_index: int | None = None

    # ------------------------------------------------------------------ days

    def day_index(self, d: date) -> int | None:
        """Index of trading day ``d`` counted from ORIGIN, ``None`` if not a simulated day."""
        if d < ORIGIN:
            return None
        self._cover(d)
        return self._index.get(d)

    def day_at(self, index: int) -> date:
        return self._days[index]

    def index_range(self, start: date, end: date) -> range:
        """Indices of the simulated trading days in ``[start, end]`` (may be empty)."""
        if end < ORIGIN or start > end:
            return range(0)
        self._cover(end)
        return range(bisect_left(self._days, start), bisect_right(self._days, end))

    def _cover(self, d: date) -> None:
        if self._days and d <= self._days[-1]:
            return
        horizon = d + timedelta(days=90)
        library_last = self.calendar.library_range[1]
        if d <= library_last:  # stay inside the library's range: no fallback warning
            horizon = min(horizon, library_last)
        self._days = self.calendar.trade_days(ORIGIN, horizon)
        self._index = {day: i for i, day in enumerate(self._days)}

    # ------------------------------------------------------------------ prices

    def tick(self, security: Security) -> float:
        return tick_size(security)

    def to_price(self, security: Security, ticks: int | float) -> float:
        return round(float(ticks) * tick_size(security), price_decimals(security))

    def limits(self, security: Security, index: int, pre_close: int) -> tuple[int, int]:
        """(low, high) limits in ticks of day ``index`` (ST stocks: date-dependent ratio)."""
        if not is_st(security):
            return limits_in_ticks(security, pre_close)
        if self._st_change_index is None:
            before = self.calendar.trade_days(ORIGIN, ST_LIMIT_CHANGE - timedelta(days=1))
            self._st_change_index = len(before)
        on = ST_LIMIT_CHANGE - timedelta(days=1) if index < self._st_change_index else None
        ratio = limit_ratio(security, is_st=True, on=on)
        return limits_in_ticks(security, pre_close, ratio)

    def pre_close(self, security: Security, index: int) -> int:
        """Previous close (ticks) of day ``index``."""
        path = self._path(security, index)
        return path.origin if index == 0 else path.closes[index - 1]

    def close(self, security: Security, index: int) -> int:
        return self._path(security, index).closes[index]

    def day_bars(self, security: Security, first: int, last: int) -> BarArrays:
        """Full daily bars of days ``first..last`` (inclusive indices, ``first <= last``)."""
        parts = []
        for block in range(first // MINUTE_BLOCK, last // MINUTE_BLOCK + 1):
            bars = self._daily_block(security, block)
            lo = max(first - block * MINUTE_BLOCK, 0)
            hi = min(last - block * MINUTE_BLOCK, MINUTE_BLOCK - 1) + 1
            parts.append(_slice(bars, lo, hi))
        return _concat(parts)

    def minute_bars(self, security: Security, index: int) -> BarArrays:
        """The 240 minute bars of day ``index``."""
        block = index // MINUTE_BLOCK
        return self._minute_block(security, block).row(index - block * MINUTE_BLOCK)

    # ------------------------------------------------------------------ generation

    def _path(self, security: Security, index: int) -> _ClosePath:
        path = self._paths.get(security)
        if path is None:
            prof = profile(security)
            origin = max(round(prof.level / tick_size(security)), 1)
            path = self._paths[security] = _ClosePath(origin, [], [])
        if index >= len(path.closes):
            self._extend(security, path, index + 1)
        return path

    def _extend(self, security: Security, path: _ClosePath, n: int) -> None:
        """Generate closes sequentially until the path has at least ``n`` days."""
        prof = profile(security)
        log_level = math.log(prof.level / tick_size(security))
        prev = path.closes[-1] if path.closes else path.origin
        st = is_st(security)
        ratio = limit_ratio(security)
        pct = 10 if ratio is None else round(ratio * 100)
        up, down = 100 + pct, 100 - pct
        while len(path.closes) < n:
            block = len(path.closes) // CLOSE_BLOCK
            returns = self._block_returns(security, prof, block)
            halts = self._block_suspensions(security, block)
            offset = len(path.closes) - block * CLOSE_BLOCK
            for r, halted in zip(returns[offset:], halts[offset:], strict=True):
                if not halted:
                    target = round(prev * math.exp(r + _REVERSION * (log_level - math.log(prev))))
                    if st:
                        low, high = self.limits(security, len(path.closes), prev)
                    else:  # inline limits_in_ticks: this loop runs once per code and day
                        low, high = max((prev * down + 50) // 100, 1), (prev * up + 50) // 100
                    prev = min(max(target, low), high)
                path.closes.append(prev)
                path.suspended.append(halted)

    def _block_returns(self, security: Security, prof: Profile, block: int) -> list[float]:
        rng = np.random.default_rng(stable_seed(self.seed, security.jq, "close", block))
        normal = rng.standard_normal(CLOSE_BLOCK) * prof.sigma
        jumps = rng.random(CLOSE_BLOCK) < prof.jump_prob
        signs = np.where(rng.random(CLOSE_BLOCK) < 0.5, -1.0, 1.0)
        size = _JUMP * (limit_ratio(security) or 0.10)
        return [float(x) for x in normal + jumps * signs * size]

    def _block_suspensions(self, security: Security, block: int) -> list[bool]:
        """Scheduled suspension days of a block: synthetic stocks only (about one day a year),
        from their own generator so the price draws of other days do not move."""
        if not suspensions_apply(security):
            return [False] * CLOSE_BLOCK
        rng = np.random.default_rng(stable_seed(self.seed, security.jq, "suspend", block))
        flags = [bool(x) for x in rng.random(CLOSE_BLOCK) < SUSPEND_PROBABILITY]
        if block == 0:
            flags[0] = False
        return flags

    def is_suspended(self, security: Security, index: int) -> bool:
        """Whether day ``index`` is a scheduled suspension day of ``security``."""
        return self._path(security, index).suspended[index]

    def _minute_block(self, security: Security, block: int) -> BarArrays:
        key = (security, block)
        bars = self._minutes.get(key)
        if bars is not None:
            self._minutes.move_to_end(key)
            return bars
        first = block * MINUTE_BLOCK
        last = first + MINUTE_BLOCK - 1
        frame = self._day_frame(security, first, last)
        rng = np.random.default_rng(stable_seed(self.seed, security.jq, "minute", block))
        bars = generate_block(rng, frame, profile(security), tick_size(security))
        self._minutes[key] = bars
        self._daily[key] = bars.aggregate()
        while len(self._minutes) > _MINUTE_CACHE:
            self._minutes.popitem(last=False)
        return bars

    def _daily_block(self, security: Security, block: int) -> BarArrays:
        bars = self._daily.get((security, block))
        if bars is None:
            self._minute_block(security, block)
            bars = self._daily[(security, block)]
        return bars

    def _day_frame(self, security: Security, first: int, last: int) -> DayFrame:
        path = self._path(security, last)
        pre = [path.origin, *path.closes][first : last + 1]
        limits = [self.limits(security, first + i, p) for i, p in enumerate(pre)]
        return DayFrame(
            pre_close=np.asarray(pre, dtype=np.int64),
            close=np.asarray(path.closes[first : last + 1], dtype=np.int64),
            low_limit=np.asarray([lo for lo, _ in limits], dtype=np.int64),
            high_limit=np.asarray([hi for _, hi in limits], dtype=np.int64),
            suspended=np.asarray(path.suspended[first : last + 1], dtype=np.bool_),
        )


def _slice(bars: BarArrays, lo: int, hi: int) -> BarArrays:
    return BarArrays(
        bars.open[lo:hi],
        bars.high[lo:hi],
        bars.low[lo:hi],
        bars.close[lo:hi],
        bars.volume[lo:hi],
        bars.money[lo:hi],
    )


def _concat(parts: list[BarArrays]) -> BarArrays:
    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in parts]).astype(np.int64)

    return BarArrays(
        cat("open"), cat("high"), cat("low"), cat("close"), cat("volume"), cat("money")
    )
