"""Minute bars of the simulated exchange, generated a block of trading days at a time.

All prices are integers counted in ticks, so aggregation is exact: the daily bar of a day is by
construction the aggregate of its 240 minute bars (first open, last close, max high, min low,
summed volume and money). Money is kept in integer cents for the same reason.

A day's path is a Brownian bridge (in log price) from the day's open to its close, which the
caller fixes beforehand (see :mod:`.prices`), clipped into the day's price limits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bullet_trade.adapters.sim.universe import Profile

BARS_PER_DAY = 240
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class BarArrays:
    """Bars as parallel arrays. Prices in ticks, volume in shares, money in cents.

    For a block of days each array has shape ``(days, 240)``; for a daily series or one day's
    minutes it is one-dimensional.
    """

    open: IntArray
    high: IntArray
    low: IntArray
    close: IntArray
    volume: IntArray
    money: IntArray

    def row(self, i: int) -> BarArrays:
        """Row ``i`` of a two-dimensional block (one day's minute bars)."""
        return BarArrays(
            self.open[i], self.high[i], self.low[i], self.close[i], self.volume[i], self.money[i]
        )

    def aggregate(self) -> BarArrays:
        """Aggregate along the last axis: one bar per row (per day for a block)."""
        return BarArrays(
            open=np.asarray(self.open[..., 0], dtype=np.int64),
            high=np.asarray(self.high.max(axis=-1), dtype=np.int64),
            low=np.asarray(self.low.min(axis=-1), dtype=np.int64),
            close=np.asarray(self.close[..., -1], dtype=np.int64),
            volume=np.asarray(self.volume.sum(axis=-1), dtype=np.int64),
            money=np.asarray(self.money.sum(axis=-1), dtype=np.int64),
        )


@dataclass(frozen=True, slots=True)
class DayFrame:
    """Fixed inputs of a block of days (ticks): previous close, close, the price limits, and
    the suspension days (``None``: none)."""

    pre_close: IntArray
    close: IntArray
    low_limit: IntArray
    high_limit: IntArray
    suspended: npt.NDArray[np.bool_] | None = None


def _volume_profile() -> npt.NDArray[np.float64]:
    """U-shaped share of the day's volume per minute (busy open and close), summing to 1."""
    k = np.arange(BARS_PER_DAY, dtype=np.float64)
    weights = 1.0 + 2.0 * np.exp(-k / 15.0) + 1.2 * np.exp(-(BARS_PER_DAY - 1 - k) / 15.0)
    return np.asarray(weights / weights.sum(), dtype=np.float64)


_PROFILE = _volume_profile()


def generate_block(
    rng: np.random.Generator, days: DayFrame, profile: Profile, tick: float
) -> BarArrays:
    """Minute bars for a block of days, shape ``(len(days), 240)``.

    Guarantees: every price lies in ``[low_limit, high_limit]`` of its day and is ≥ 1 tick;
    the first bar's open is the day's open, the last bar's close equals ``days.close``;
    ``low ≤ min(open, close) ≤ max(open, close) ≤ high``; volume is a positive multiple of 100,
    except on suspension days, whose bars are flat at the previous close with zero volume.
    """
    lo = days.low_limit[:, None]
    hi = days.high_limit[:, None]
    n = len(days.close)
    sigma = profile.sigma
    gap = rng.normal(0.0, 0.35 * sigma, n)
    day_open = np.clip(np.rint(days.pre_close * np.exp(gap)), days.low_limit, days.high_limit)
    path = _bridge(rng, day_open, days.close.astype(np.float64), sigma)
    close = np.clip(path, lo, hi).astype(np.int64)
    close[:, -1] = days.close
    open_ = np.concatenate([day_open[:, None], close[:, :-1]], axis=1).astype(np.int64)
    wick_scale = 0.3 * sigma / np.sqrt(BARS_PER_DAY)
    wicks = np.abs(rng.normal(0.0, wick_scale, (2, n, BARS_PER_DAY)))
    top = np.maximum(open_, close)
    bottom = np.minimum(open_, close)
    high = np.minimum(top + np.rint(wicks[0] * top), hi).astype(np.int64)
    low = np.maximum(bottom - np.rint(wicks[1] * bottom), np.maximum(lo, 1)).astype(np.int64)
    volume = _volumes(rng, days.close, profile, tick)
    typical = (open_ + high + low + close) / 4.0
    money = np.rint(volume * typical * (tick * 100.0)).astype(np.int64)
    if days.suspended is not None and days.suspended.any():
        rows = days.suspended
        flat = days.pre_close[rows][:, None]
        for prices in (open_, high, low, close):
            prices[rows] = flat
        volume[rows] = 0
        money[rows] = 0
    return BarArrays(open_, high, low, close, volume, money)


def _bridge(
    rng: np.random.Generator,
    start: npt.NDArray[np.float64],
    end: npt.NDArray[np.float64],
    sigma: float,
) -> npt.NDArray[np.float64]:
    """Rounded tick prices of a log-space Brownian bridge from ``start`` to ``end`` per row."""
    n = len(start)
    steps = rng.normal(0.0, 0.9 * sigma / np.sqrt(BARS_PER_DAY), (n, BARS_PER_DAY))
    walk = np.cumsum(steps, axis=1)
    frac = np.arange(1, BARS_PER_DAY + 1, dtype=np.float64) / BARS_PER_DAY
    bridge = walk - frac[None, :] * walk[:, -1:]
    log_start = np.log(start)[:, None]
    log_path = log_start + frac[None, :] * (np.log(end)[:, None] - log_start) + bridge
    return np.asarray(np.rint(np.exp(log_path)), dtype=np.float64)


def _volumes(rng: np.random.Generator, close: IntArray, profile: Profile, tick: float) -> IntArray:
    n = len(close)
    day_shares = profile.daily_money / (close * tick) * rng.lognormal(0.0, 0.3, n)
    noise = rng.lognormal(0.0, 0.4, (n, BARS_PER_DAY))
    lots = np.rint(day_shares[:, None] * _PROFILE[None, :] * noise / 100.0)
    return np.asarray(np.maximum(lots, 1) * 100, dtype=np.int64)
