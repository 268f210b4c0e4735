"""Minute bars of the simulated exchange, derived from the day's bar.

The daily bar (:mod:`.daily`) is the source of truth. A day's 240 minute bars are drawn
conditioned on it, so they aggregate EXACTLY into it: the first open is the day's open, the
last close its close, the highest high its high, the lowest low its low, and volume and money
sum to the day's (both integers: shares and cents, split by largest remainder).

The intraday path is a Brownian bridge from open to close, its upper part scaled to touch the
day's high and its lower part the day's low. A day closing at its limit price "seals" there:
the path reaches the limit at a drawn minute and stays on it until the close.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

BARS_PER_DAY = 240
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class BarArrays:
    """Bars as parallel arrays. Prices in ticks, volume in shares, money in cents.

    One-dimensional for a daily series or one day's minutes; a scalar-valued row after
    :meth:`aggregate` of a one-dimensional series.
    """

    open: IntArray
    high: IntArray
    low: IntArray
    close: IntArray
    volume: IntArray
    money: IntArray

    def row(self, i: int) -> BarArrays:
        """Row ``i`` of every array."""
        return BarArrays(
            self.open[i], self.high[i], self.low[i], self.close[i], self.volume[i], self.money[i]
        )

    def aggregate(self) -> BarArrays:
        """Aggregate along the last axis: first open, max high, min low, last close, sums
        (int64 scalars for a one-dimensional series)."""
        return BarArrays(
            open=self.open[..., 0],
            high=np.maximum.reduce(self.high, axis=-1),
            low=np.minimum.reduce(self.low, axis=-1),
            close=self.close[..., -1],
            volume=np.add.reduce(self.volume, axis=-1),
            money=np.add.reduce(self.money, axis=-1),
        )


def _volume_profile() -> FloatArray:
    """U-shaped share of the day's volume per minute (busy open and close), summing to 1."""
    k = np.arange(BARS_PER_DAY, dtype=np.float64)
    weights = 1.0 + 2.0 * np.exp(-k / 15.0) + 1.2 * np.exp(-(BARS_PER_DAY - 1 - k) / 15.0)
    return np.asarray(weights / weights.sum(), dtype=np.float64)


_PROFILE = _volume_profile()
_STEPS = np.arange(1, BARS_PER_DAY + 1, dtype=np.float64)


_LOGISTIC = np.sqrt(3.0) / np.pi  # logistic scale with unit variance


def allocate(total: int, weights: FloatArray) -> IntArray:
    """Split the non-negative integer ``total`` proportionally to ``weights`` (cumulative
    rounding: part ``i`` is the rounded running share up to ``i`` minus the one before it):
    the parts are non-negative integers summing exactly to ``total``, each within one unit of
    its exact share."""
    running = np.rint(np.cumsum(weights) * (total / float(weights.sum()))).astype(np.int64)
    running[-1] = total
    running[1:] -= running[:-1].copy()
    return running


def _closes(z: FloatArray, seal: float, day: BarArrays, limits: tuple[int, int]) -> IntArray:
    """Minute closes: a bridge from open to close touching the day's high and low, driven by
    the 240 draws ``z``; a day closing at a limit seals there from minute ``seal`` (a uniform
    draw) of the day's last three quarters on."""
    o, h, lo, c = int(day.open), int(day.high), int(day.low), int(day.close)
    end = BARS_PER_DAY
    if c in limits and c != o:  # seal at the limit from a drawn minute on
        end = BARS_PER_DAY // 4 + int(seal * (BARS_PER_DAY - BARS_PER_DAY // 4))
    walk = np.cumsum(z[:end])
    frac = _STEPS[:end] / end
    bridge = walk - frac * walk[-1]
    line = o + (c - o) * frac
    top, bottom = int(np.argmax(bridge)), int(np.argmin(bridge))
    up = (h - line[top]) / bridge[top] if bridge[top] > 0 else 0.0
    dn = (line[bottom] - lo) / -bridge[bottom] if bridge[bottom] < 0 else 0.0
    path = line + np.where(bridge > 0, max(up, 0.0), max(dn, 0.0)) * bridge
    closes = np.full(BARS_PER_DAY, c, dtype=np.int64)
    closes[:end] = np.clip(np.rint(path), lo, h)
    closes[-1] = c
    return closes


def minute_bars(
    rng: np.random.Generator, day: BarArrays, limits: tuple[int, int], sigma: float
) -> BarArrays:
    """The 240 minute bars of one day whose daily bar is ``day`` (scalars, ticks/cents).

    ``limits`` are the day's (low, high) limits in ticks. Guarantees: exact aggregation into
    ``day``; ``low ≤ min(open, close) ≤ max(open, close) ≤ high`` per bar; every volume a
    positive multiple of 100 (all zero and flat prices when ``day`` has no volume).
    """
    volume, money = int(day.volume), int(day.money)
    if volume == 0:
        flat = np.full(BARS_PER_DAY, int(day.close), dtype=np.int64)
        zero = np.zeros(BARS_PER_DAY, dtype=np.int64)
        return BarArrays(flat, flat.copy(), flat.copy(), flat.copy(), zero, zero.copy())
    u = rng.random(4 * BARS_PER_DAY + 1)
    z = np.log(u[:-1] / (1.0 - u[:-1])).reshape(4, BARS_PER_DAY)  # logistic: cheap, fat-tailed
    close = _closes(z[0], float(u[-1]), day, limits)
    open_ = np.empty(BARS_PER_DAY, dtype=np.int64)
    open_[0] = int(day.open)
    open_[1:] = close[:-1]
    wicks = np.abs(z[1:]) * _LOGISTIC
    scale = 0.3 * sigma / np.sqrt(BARS_PER_DAY)
    top, bottom = np.maximum(open_, close), np.minimum(open_, close)
    high = np.minimum(top + np.rint(wicks[0] * scale * top), int(day.high)).astype(np.int64)
    low = np.maximum(bottom - np.rint(wicks[1] * scale * bottom), int(day.low)).astype(np.int64)
    high[int(np.argmax(high))] = int(day.high)
    low[int(np.argmin(low))] = int(day.low)
    lots = 1 + allocate(volume // 100 - BARS_PER_DAY, _PROFILE * np.exp(0.4 * wicks[2]))
    shares = lots * 100
    cents = allocate(money, shares * (open_ + high + low + close).astype(np.float64))
    return BarArrays(open_, high, low, close, shares, cents)
