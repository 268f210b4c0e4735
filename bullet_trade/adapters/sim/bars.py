"""History queries over the simulated market: which bars a query selects, as a DataFrame.

No future data: only days up to the market's current trading day are visible, and on that day
only the minute bars that have happened (see :mod:`.session`). Today's daily bar aggregates
those minute bars; a day suspended today shows a flat row at the previous close with
``paused = 1``. Minute frequencies above 1m are groups of 1-minute bars within a session
(240 is divisible by 5, 15, 30 and 60, so groups never span the lunch break); a group that
has not completed yet is not returned.

``fq`` (see :mod:`.dividends`): ``pre`` and ``post`` multiply open/close/high/low by each
day's adjustment factor (minute bars by their day's factor) and round to the tick's decimals;
volume and money stay raw. ``pre`` leaves the market's current day unchanged.
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd

from bullet_trade.adapters.contracts import HISTORY_COLUMNS
from bullet_trade.adapters.sim import dividends
from bullet_trade.adapters.sim.intraday import BarArrays
from bullet_trade.adapters.sim.market import DayState, SimMarket
from bullet_trade.adapters.sim.session import BAR_END_NS, BARS_PER_DAY, MarketMoment
from bullet_trade.adapters.sim.universe import ORIGIN
from bullet_trade.model.codes import Security
from bullet_trade.model.rules import price_decimals, tick_size

#: frequency -> minutes per bar (0 for daily)
FREQUENCIES: dict[str, int] = {"1d": 0, "1m": 1, "5m": 5, "15m": 15, "30m": 30, "60m": 60}
COLUMNS = (*HISTORY_COLUMNS, "paused")
_COLUMN_INDEX = pd.Index(list(COLUMNS))


def empty_frame() -> pd.DataFrame:
    index = pd.DatetimeIndex([], name="time", dtype="datetime64[ns]")
    frame: pd.DataFrame = pd.DataFrame(
        {c: pd.Series([], dtype="float64") for c in COLUMNS}, index=index
    )
    return frame


def to_frame(
    security: Security,
    times: np.ndarray | pd.DatetimeIndex,
    bars: BarArrays | list[BarArrays],
    paused: np.ndarray,
    factor: np.ndarray | None = None,
) -> pd.DataFrame:
    """Build the contract's DataFrame from tick/cent arrays (``bars``: one series or
    consecutive parts of it; ``factor``: price factor per row, ``None`` for raw prices)."""
    tick, decimals = tick_size(security), price_decimals(security)
    block = np.empty((len(COLUMNS), len(times)), dtype=np.float64)  # one row per column
    row = 0
    for part in bars if isinstance(bars, list) else [bars]:
        end = row + np.size(part.close)
        for i, values in enumerate((part.open, part.close, part.high, part.low, part.volume,
                                    part.money)):
            block[i, row:end] = values
        row = end
    prices = block[:4]
    prices *= tick if factor is None else factor * tick
    np.round(prices, decimals, out=prices)
    block[5] /= 100.0
    block[6] = paused
    if isinstance(times, pd.DatetimeIndex):
        index = times
    else:
        index = pd.DatetimeIndex(times.astype("datetime64[ns]"), name="time")
    frame: pd.DataFrame = pd.DataFrame(block.T, index=index, columns=_COLUMN_INDEX, copy=False)
    return frame


def resample(bars: BarArrays, n: int) -> tuple[BarArrays, np.ndarray]:
    """Complete groups of ``n`` one-minute bars of ONE day, plus each group's end-bar position."""
    m = len(bars.close) // n
    if n == 1:
        return bars, np.arange(m)
    cut = m * n

    def blocks(values: np.ndarray) -> np.ndarray:
        return values[:cut].reshape(m, n)

    grouped = BarArrays(
        open=blocks(bars.open)[:, 0],
        high=blocks(bars.high).max(axis=1),
        low=blocks(bars.low).min(axis=1),
        close=blocks(bars.close)[:, -1],
        volume=blocks(bars.volume).sum(axis=1),
        money=blocks(bars.money).sum(axis=1),
    )
    return grouped, np.arange(n - 1, cut, n)


def _concat(parts: list[BarArrays]) -> BarArrays:
    return BarArrays(
        np.concatenate([p.open for p in parts]),
        np.concatenate([p.high for p in parts]),
        np.concatenate([p.low for p in parts]),
        np.concatenate([p.close for p in parts]),
        np.concatenate([p.volume for p in parts]),
        np.concatenate([p.money for p in parts]),
    )


def _today_row(state: DayState) -> BarArrays | None:
    """Today's daily bar so far, a flat paused row, or ``None`` before the first bar."""
    if state.bars is not None:
        return state.bars.aggregate()  # scalars: one row
    if state.paused:
        flat = np.array([state.pre_close], dtype=np.int64)
        zero = np.zeros(1, dtype=np.int64)
        return BarArrays(flat, flat, flat, flat, zero, zero)
    return None


def _today(
    market: SimMarket, security: Security, moment: MarketMoment, end: date
) -> tuple[int, BarArrays | None, bool]:
    """(today's index, today's daily row so far or ``None``, paused) for a daily query ending
    on ``end``. Minute bars are only built when today's row is needed and incomplete: a query
    ending before today needs none, and a finished day's row is its daily bar."""
    index = market.prices.day_index(moment.day)
    if index is not None and end < moment.day:
        return index, None, False
    done = moment.bar >= BARS_PER_DAY - 1 and not market.is_suspended(security)
    if index is not None and done and not market.prices.is_suspended(security, index):
        return index, market.prices.day_bars(security, index, index), False
    state = market.day_state(security, moment)
    return state.index, _today_row(state), state.paused


def _day_ns(d: date) -> np.int64:
    return np.datetime64(d, "ns").astype(np.int64)


def price_factors(
    market: SimMarket, security: Security, days: np.ndarray, today: int, fq: str | None
) -> np.ndarray | None:
    """Adjustment factor of each day index in ``days`` for ``fq`` (``None``: raw prices)."""
    if fq not in ("pre", "post") or not len(days):
        return None
    first = 0 if fq == "post" else int(days[0])
    if first > today:
        return None
    events = market.prices.ex_events(security, first, today)
    return dividends.factors(events, days, today, fq)


def daily_history(
    market: SimMarket,
    security: Security,
    moment: MarketMoment,
    window: tuple[date, date, int | None],
    fq: str | None = None,
) -> pd.DataFrame:
    """Daily bars in ``window = (start, end, count)`` (``count`` = last N up to ``end``),
    adjusted per ``fq``."""
    start, end, count = window
    today_index, today, today_paused = _today(market, security, moment, end)
    last_day = min(end, moment.day)
    indices = market.prices.index_range(ORIGIN if count else start, last_day)
    if today is None and indices and indices[-1] == today_index:
        indices = indices[:-1]
    if count:
        indices = indices[-count:]
    if not indices:
        return empty_frame()
    full = indices[:-1] if today is not None and indices[-1] == today_index else indices
    parts = [market.prices.day_bars(security, full[0], full[-1])] if full else []
    flags = market.prices.suspended_flags(security, indices[0], indices[-1])
    paused = flags.astype(np.int64)
    if len(full) < len(indices) and today is not None:
        parts.append(today)
        paused[-1] = int(today_paused)
    times = market.prices.day_times(indices)
    days = np.arange(indices.start, indices.stop, dtype=np.int64)
    factor = price_factors(market, security, days, today_index, fq)
    return to_frame(security, times, parts, paused, factor)


def _minute_day(
    market: SimMarket, security: Security, index: int, state: DayState, n: int
) -> tuple[BarArrays, np.ndarray] | None:
    if index == state.index:
        if state.bars is None:
            return None
        bars = state.bars
    else:
        bars = market.prices.minute_bars(security, index)
    grouped, positions = resample(bars, n)
    if len(positions) == 0:
        return None
    times = _day_ns(market.prices.day_at(index)) + BAR_END_NS[positions]
    return grouped, times


def minute_history(
    market: SimMarket,
    security: Security,
    moment: MarketMoment,
    window: tuple[datetime, datetime | None, int | None],
    n: int,
    fq: str | None = None,
) -> pd.DataFrame:
    """Bars of ``n`` minutes in ``window = (start, end, count)``; ``end=None`` means now;
    adjusted per ``fq``."""
    start, end, count = window
    state = market.day_state(security, moment)
    last_day = moment.day if end is None else min(end.date(), moment.day)
    if count:
        days_back = count * n // BARS_PER_DAY + 2
        indices = market.prices.index_range(ORIGIN, last_day)[-days_back:]
    else:
        indices = market.prices.index_range(start.date(), last_day)
    parts, times, days = [], [], []
    for index in indices:
        day = _minute_day(market, security, index, state, n)
        if day is not None:
            parts.append(day[0])
            times.append(day[1])
            days.append(np.full(len(day[1]), index, dtype=np.int64))
    if not parts:
        return empty_frame()
    all_times = np.concatenate(times)
    keep = np.ones(len(all_times), dtype=bool)
    if end is not None:
        keep &= all_times <= np.datetime64(end, "ns").astype(np.int64)
    if not count:
        keep &= all_times >= np.datetime64(start, "ns").astype(np.int64)
    factor = price_factors(market, security, np.concatenate(days)[keep], state.index, fq)
    frame = to_frame(
        security,
        all_times[keep],
        _select(_concat(parts), keep),
        np.zeros(int(keep.sum()), dtype=np.int64),
        factor,
    )
    return frame.iloc[-count:] if count else frame


def _select(bars: BarArrays, keep: np.ndarray) -> BarArrays:
    return BarArrays(
        bars.open[keep],
        bars.high[keep],
        bars.low[keep],
        bars.close[keep],
        bars.volume[keep],
        bars.money[keep],
    )
