"""Deterministic prices of the simulated exchange.

For a given ``seed`` every code has one fixed daily close path starting at :data:`ORIGIN`
(:mod:`.paths`, vectorised, generated in blocks), one fixed daily bar per day (:mod:`.daily`)
and one fixed set of minute bars per day derived from that daily bar (:mod:`.intraday`).
Random numbers come from ``numpy`` generators seeded with a stable hash of
``(seed, code, purpose, block or day)``, so the same request always returns the same data, in
any process, whatever was asked before.

Rules respected: every price is on the tick; each close lies within the day's price limits
(computed from the previous integer close); minute bars aggregate exactly into the daily bar.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from bullet_trade.adapters.sim import paths
from bullet_trade.adapters.sim.daily import daily_bars
from bullet_trade.adapters.sim.intraday import BarArrays, minute_bars
from bullet_trade.adapters.sim.ticks import TickArrays, minute_ticks
from bullet_trade.adapters.sim.universe import ORIGIN, is_known, is_st, profile, stable_seed
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
BAR_BLOCK = 512  # trading days per block of daily-bar draws
_MINUTE_CACHE = 256  # days of minute bars kept (all codes together)
_PATH_CACHE = 1024  # codes whose path is kept (a path is regenerated identically on demand)


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
    return max((pre_close * (100 - pct) + 50) // 100, 1), (pre_close * (100 + pct) + 50) // 100


def suspensions_apply(security: Security) -> bool:
    """Scheduled suspension days exist for synthetic stocks only: the well-known codes of the
    universe (used by examples and the demo) always trade."""
    board = board_of(security)
    stock = board in (Board.MAIN, Board.CHINEXT, Board.STAR, Board.BSE)
    return stock and not is_known(security)


@dataclass(slots=True)
class _Path:
    """A code's generated path so far (whole blocks): closes (ticks), suspension flags,
    daily limit percents, and the daily-bar blocks generated from it."""

    origin: int
    closes: np.ndarray
    suspended: np.ndarray
    pct: np.ndarray
    bars: dict[int, BarArrays] = field(default_factory=dict)


class PriceModel:
    """Daily and minute bars of any code, on a trading calendar, for one seed."""

    def __init__(self, seed: int, calendar: TradingCalendar) -> None:
        self.seed = seed
        self.calendar = calendar
        self._days: list[date] = []
        self._day_ns = np.zeros(0, dtype=np.int64)
        self._index: dict[date, int] = {}
        self._paths: OrderedDict[Security, _Path] = OrderedDict()
        self._minutes: OrderedDict[tuple[Security, int], BarArrays] = OrderedDict()
        self._ticks: OrderedDict[tuple[Security, int, int], TickArrays] = OrderedDict()
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

    def day_ns(self, indices: range) -> np.ndarray:
        """Midnight of each trading day in ``indices`` as int64 nanoseconds."""
        return self._day_ns[indices.start : indices.stop]

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
        self._day_ns = np.array(self._days, dtype="datetime64[ns]").astype(np.int64)
        self._index = {day: i for i, day in enumerate(self._days)}

    # ------------------------------------------------------------------ prices

    def tick(self, security: Security) -> float:
        return tick_size(security)

    def to_price(self, security: Security, ticks: int | float) -> float:
        return round(float(ticks) * tick_size(security), price_decimals(security))

    def limits(self, security: Security, index: int, pre_close: int) -> tuple[int, int]:
        """(low, high) limits in ticks of day ``index`` (ST stocks: date-dependent ratio)."""
        pct = int(self._path(security, index).pct[index])
        return limits_in_ticks(security, pre_close, pct / 100)

    def pre_close(self, security: Security, index: int) -> int:
        """Previous close (ticks) of day ``index``."""
        path = self._path(security, index)
        return path.origin if index == 0 else int(path.closes[index - 1])

    def close(self, security: Security, index: int) -> int:
        return int(self._path(security, index).closes[index])

    def is_suspended(self, security: Security, index: int) -> bool:
        """Whether day ``index`` is a scheduled suspension day of ``security``."""
        return bool(self._path(security, index).suspended[index])

    def suspended_flags(self, security: Security, first: int, last: int) -> np.ndarray:
        """Scheduled suspension flags of days ``first..last`` (inclusive)."""
        return self._path(security, last).suspended[first : last + 1]

    def day_bars(self, security: Security, first: int, last: int) -> BarArrays:
        """Full daily bars of days ``first..last`` (inclusive indices, ``first <= last``)."""
        parts = []
        for block in range(first // BAR_BLOCK, last // BAR_BLOCK + 1):
            bars = self._bar_block(security, block)
            lo = max(first - block * BAR_BLOCK, 0)
            hi = min(last - block * BAR_BLOCK, BAR_BLOCK - 1) + 1
            parts.append(_slice(bars, lo, hi))
        return parts[0] if len(parts) == 1 else _concat(parts)

    def minute_bars(self, security: Security, index: int) -> BarArrays:
        """The 240 minute bars of day ``index``, derived from (and aggregating into) its
        daily bar."""
        key = (security, index)
        bars = self._minutes.get(key)
        if bars is not None:
            self._minutes.move_to_end(key)
            return bars
        day = self.day_bars(security, index, index).row(0)
        limits = self.limits(security, index, self.pre_close(security, index))
        rng = np.random.default_rng(stable_seed(self.seed, security.jq, "minute", index))
        bars = minute_bars(rng, day, limits, profile(security).sigma)
        self._minutes[key] = bars
        while len(self._minutes) > _MINUTE_CACHE:
            self._minutes.popitem(last=False)
        return bars

    def ticks(self, security: Security, index: int, bar: int) -> TickArrays:
        """The twenty 3-second ticks of minute ``bar`` of day ``index`` (see :mod:`.ticks`)."""
        key = (security, index, bar)
        ticks = self._ticks.get(key)
        if ticks is None:
            row = self.minute_bars(security, index).row(bar)
            rng = np.random.default_rng(stable_seed(self.seed, security.jq, "tick", index, bar))
            ticks = self._ticks[key] = minute_ticks(rng, row)
            while len(self._ticks) > _MINUTE_CACHE:
                self._ticks.popitem(last=False)
        return ticks

    # ------------------------------------------------------------------ generation

    def _pct(self, security: Security, first: int, stop: int) -> np.ndarray:
        """Integer limit percents of days ``first..stop-1`` (ST: date-dependent)."""
        ratio = limit_ratio(security)
        pct = np.full(stop - first, 10 if ratio is None else round(ratio * 100), np.int64)
        if is_st(security):
            if self._st_change_index is None:
                before = self.calendar.trade_days(ORIGIN, ST_LIMIT_CHANGE - timedelta(days=1))
                self._st_change_index = len(before)
            old = limit_ratio(security, is_st=True, on=ST_LIMIT_CHANGE - timedelta(days=1))
            days = np.arange(first, stop)
            pct[days < self._st_change_index] = round((old or 0.1) * 100)
        return pct

    def _path(self, security: Security, index: int) -> _Path:
        path = self._paths.get(security)
        if path is None:
            origin = max(round(profile(security).level / tick_size(security)), 1)
            empty = np.zeros(0, dtype=np.int64)
            path = _Path(origin, empty, np.zeros(0, dtype=np.bool_), empty)
            self._paths[security] = path
            if len(self._paths) > _PATH_CACHE:
                self._paths.popitem(last=False)
        else:
            self._paths.move_to_end(security)
        while index >= len(path.closes):
            self._extend(security, path)
        return path

    def _extend(self, security: Security, path: _Path) -> None:
        """Append the next block of :data:`paths.PATH_BLOCK` days."""
        block = len(path.closes) // paths.PATH_BLOCK
        prof = profile(security)
        tick = tick_size(security)
        spec = paths.PathSpec(
            level=prof.level / tick,
            sigma=prof.sigma,
            jump_prob=prof.jump_prob,
            jump_size=limit_ratio(security) or 0.10,
            suspend_prob=SUSPEND_PROBABILITY if suspensions_apply(security) else 0.0,
        )
        first = len(path.closes)
        pct = self._pct(security, first, first + paths.PATH_BLOCK)
        origin = int(path.closes[-1]) if first else path.origin
        rng = np.random.default_rng(stable_seed(self.seed, security.jq, "path", block))
        made = paths.generate_block(rng, spec, origin, pct, first_block=block == 0)
        path.closes = np.concatenate((path.closes, made.closes))
        path.suspended = np.concatenate((path.suspended, made.suspended))
        path.pct = np.concatenate((path.pct, pct))

    def _bar_block(self, security: Security, block: int) -> BarArrays:
        first, stop = block * BAR_BLOCK, (block + 1) * BAR_BLOCK
        path = self._path(security, stop - 1)
        bars = path.bars.get(block)
        if bars is None:
            closes = path.closes[first:stop]
            pre = np.concatenate(([path.origin], path.closes))[first:stop]
            low, high = paths.limit_bounds(pre, path.pct[first:stop])
            rng = np.random.default_rng(stable_seed(self.seed, security.jq, "daily", block))
            frame = (pre, closes, low, high)
            prof = profile(security)
            bars = daily_bars(rng, frame, path.suspended[first:stop], prof, tick_size(security))
            path.bars[block] = bars
        return bars


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


