"""Deterministic prices of the simulated exchange.

For a given ``seed`` every code has one fixed daily path from :data:`ORIGIN`, made of yearly
stretches (:mod:`.stretch`: closes, limits, suspensions, daily bars and the ex-dividend event
of one calendar year, generated alone), and one fixed set of minute bars per day derived from
that day's bar (:mod:`.intraday`). Random numbers come from ``numpy`` generators seeded with a
stable hash of ``(seed, code, purpose, year or day)``, so the same request always returns the
same data, in any process, whatever was asked before.

Rules respected: every price is on the tick; each close lies within the day's price limits
(computed from the previous integer close, or on an ex-date from the adjusted previous close);
minute bars aggregate exactly into the daily bar.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import OrderedDict
from datetime import date, timedelta

import numpy as np
import pandas as pd

from bullet_trade.adapters.sim.dividends import ExEvent
from bullet_trade.adapters.sim.intraday import BarArrays
from bullet_trade.adapters.sim.minute_store import DayInputs, MinuteStore
from bullet_trade.adapters.sim.stretch import (
    SUSPEND_PROBABILITY,
    Stretch,
    build_cohort,
    cohort_of,
)
from bullet_trade.adapters.sim.ticks import TickArrays, minute_ticks
from bullet_trade.adapters.sim.universe import ORIGIN, generator, is_known, is_st, profile
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

__all__ = ["SUSPEND_PROBABILITY", "PriceModel", "limits_in_ticks", "suspensions_apply"]

_TIMES_CACHE = 64  # (first, stop) day spans whose time index is kept
_TICK_CACHE = 16_384  # two minutes of ticks for thousands of subscribed codes (~1 KiB each)
_STRETCH_CACHE = 8192  # code-years kept (a stretch is regenerated identically on demand)


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


class PriceModel:
    """Daily and minute bars of any code, on a trading calendar, for one seed."""

    def __init__(self, seed: int, calendar: TradingCalendar) -> None:
        self.seed = seed
        self.calendar = calendar
        self._days: list[date] = []
        self._day_ns = np.zeros(0, dtype=np.int64)
        self._index: dict[date, int] = {}
        self._stretches: OrderedDict[tuple[Security, int], Stretch] = OrderedDict()
        self._minutes = MinuteStore(seed, self._minute_inputs)
        self._ticks: OrderedDict[tuple[Security, int, int], TickArrays] = OrderedDict()
        self._st_change_index: int | None = None
        self._covered = ORIGIN - timedelta(days=1)
        self._times: pd.DatetimeIndex | None = None
        self._spans_times: dict[tuple[int, int], pd.DatetimeIndex] = {}
        self._last: tuple[tuple[Security, int], Stretch] | None = None  # latest stretch used

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

    def day_times(self, indices: range) -> pd.DatetimeIndex:
        """Midnight of each trading day in ``indices`` as an index named ``time`` (a fresh
        view of a cached slice: renaming it touches no other frame)."""
        if self._times is None or len(self._times) != len(self._day_ns):
            self._times = pd.DatetimeIndex(self._day_ns.astype("datetime64[ns]"), name="time")
            self._spans_times.clear()
        span = (indices.start, indices.stop)
        times = self._spans_times.get(span)
        if times is None:
            if len(self._spans_times) >= _TIMES_CACHE:
                self._spans_times.clear()
            times = self._spans_times[span] = self._times[span[0] : span[1]]
        view: pd.DatetimeIndex = times.view()
        return view

    def index_range(self, start: date, end: date) -> range:
        """Indices of the simulated trading days in ``[start, end]`` (may be empty)."""
        if end < ORIGIN or start > end:
            return range(0)
        self._cover(end)
        return range(bisect_left(self._days, start), bisect_right(self._days, end))

    def _cover(self, d: date) -> None:
        """Make ``_days`` hold every trading day from ORIGIN through at least ``d``."""
        if d <= self._covered:
            return
        horizon = d + timedelta(days=90)
        library_last = self.calendar.library_range[1]
        if d <= library_last:  # stay inside the library's range: no fallback warning
            horizon = min(horizon, library_last)
        self._days = self.calendar.trade_days(ORIGIN, horizon)
        self._covered = horizon
        self._day_ns = np.array(self._days, dtype="datetime64[ns]").astype(np.int64)
        self._index = {day: i for i, day in enumerate(self._days)}

    # ------------------------------------------------------------------ prices

    def tick(self, security: Security) -> float:
        return tick_size(security)

    def to_price(self, security: Security, ticks: int | float) -> float:
        return round(float(ticks) * tick_size(security), price_decimals(security))

    def limits(self, security: Security, index: int, pre_close: int) -> tuple[int, int]:
        """(low, high) limits in ticks of day ``index`` (ST stocks: date-dependent ratio)."""
        stretch, i = self._locate(security, index)
        return limits_in_ticks(security, pre_close, int(stretch.pct[i]) / 100)

    def pre_close(self, security: Security, index: int) -> int:
        """Previous close (ticks) of day ``index``; on an ex-date the adjusted reference price
        (limits are computed from it)."""
        stretch, i = self._locate(security, index)
        return int(stretch.pre[i])

    def close(self, security: Security, index: int) -> int:
        stretch, i = self._locate(security, index)
        return int(stretch.closes[i])

    def is_suspended(self, security: Security, index: int) -> bool:
        """Whether day ``index`` is a scheduled suspension day of ``security``."""
        stretch, i = self._locate(security, index)
        return bool(stretch.suspended[i])

    def suspended_flags(self, security: Security, first: int, last: int) -> np.ndarray:
        """Scheduled suspension flags of days ``first..last`` (inclusive)."""
        return np.concatenate(
            [s.suspended[lo:hi] for s, lo, hi in self._spans(security, first, last)]
        )

    def day_bars(self, security: Security, first: int, last: int) -> BarArrays:
        """Full daily bars of days ``first..last`` (inclusive indices, ``first <= last``)."""
        parts = [_slice(s.bars, lo, hi) for s, lo, hi in self._spans(security, first, last)]
        return parts[0] if len(parts) == 1 else _concat(parts)

    def ex_events(self, security: Security, first: int, last: int) -> list[ExEvent]:
        """Ex-dividend events with ex-dates in days ``first..last`` (inclusive), by date."""
        events = []
        for stretch, lo, hi in self._spans(security, first, last):
            event = stretch.event()
            if event is not None and lo <= event.index - stretch.first < hi:
                events.append(event)
        return events

    def minute_bars(self, security: Security, index: int) -> BarArrays:
        """The 240 minute bars of day ``index``, derived from (and aggregating into) its
        daily bar (cached; see :mod:`.minute_store`)."""
        return self._minutes.get(security, index)

    def _minute_inputs(self, security: Security, index: int) -> DayInputs:
        """(daily bar, limits, sigma) of day ``index``: what its minute bars derive from."""
        stretch, i = self._locate(security, index)
        limits = limits_in_ticks(security, int(stretch.pre[i]), int(stretch.pct[i]) / 100)
        return stretch.bars.row(i), limits, profile(security).sigma

    def ticks(self, security: Security, index: int, bar: int) -> TickArrays:
        """The twenty 3-second ticks of minute ``bar`` of day ``index`` (see :mod:`.ticks`)."""
        key = (security, index, bar)
        ticks = self._ticks.get(key)
        if ticks is None:
            row = self.minute_bars(security, index).row(bar)
            rng = generator(self.seed, security.jq, "tick", index, bar)
            ticks = self._ticks[key] = minute_ticks(rng, row)
            while len(self._ticks) > _TICK_CACHE:
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

    def _year_range(self, year: int) -> tuple[int, int]:
        """(first, stop) day indices of the trading days of ``year``."""
        self._cover(date(year, 12, 31))
        first = bisect_left(self._days, date(year, 1, 1))
        return first, bisect_left(self._days, date(year + 1, 1, 1))

    def _stretch(self, security: Security, year: int) -> Stretch:
        key = (security, year)
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        stretch = self._stretches.get(key)
        if stretch is not None:
            self._stretches.move_to_end(key)
            self._last = (key, stretch)
            return stretch
        first, stop = self._year_range(year)
        members = cohort_of(security)
        plain = next(m for m in members if not is_st(m))
        pct = np.repeat(self._pct(plain, first, stop)[None, :], len(members), axis=0)
        for i, member in enumerate(members):
            if is_st(member):  # the only codes of a cohort whose limits differ
                pct[i] = self._pct(member, first, stop)
        made = build_cohort(self.seed, members, year, first, pct,
                            [suspensions_apply(s) for s in members])
        for member, one in zip(members, made, strict=True):
            self._stretches[(member, year)] = one
        while len(self._stretches) > _STRETCH_CACHE:
            self._stretches.popitem(last=False)
        self._last = (key, self._stretches[key])
        return self._last[1]

    def _reach(self, index: int) -> None:
        """Cover the calendar up to day ``index`` (an index from another model of the same
        calendar may be beyond what this one has looked at)."""
        while index >= len(self._days):
            if self._covered.year > ORIGIN.year + 200:
                raise IndexError(f"day index {index} is beyond the simulated calendar")
            self._cover(max(self._covered, self._days[-1] if self._days else ORIGIN)
                        + timedelta(days=366))

    def _locate(self, security: Security, index: int) -> tuple[Stretch, int]:
        """The stretch holding day ``index`` and the day's row in it."""
        self._reach(index)
        stretch = self._stretch(security, self._days[index].year)
        return stretch, index - stretch.first

    def _spans(self, security: Security, first: int, last: int) -> list[tuple[Stretch, int, int]]:
        """(stretch, lo, hi) row slices covering days ``first..last`` (inclusive)."""
        spans = []
        self._reach(last)
        year = self._days[first].year
        while True:
            stretch = self._stretch(security, year)
            stop = stretch.first + len(stretch.closes)
            lo = max(first - stretch.first, 0)
            hi = min(last + 1, stop) - stretch.first
            if hi > lo:
                spans.append((stretch, lo, hi))
            if last < stop:
                return spans
            year += 1


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


