"""Daily bars of the simulated exchange: the source of truth for every day.

Given a block of days' previous closes, closes, limits and suspension flags (from
:mod:`.paths`), this draws each day's open, high, low, volume and money with vectorised numpy.
Minute bars (:mod:`.intraday`) are then derived FROM a daily bar, so daily history never needs
minute bars and the minutes still aggregate exactly into it.
"""

from __future__ import annotations

import numpy as np

from bullet_trade.adapters.sim.intraday import BARS_PER_DAY, BarArrays, FloatArray, IntArray

_GAP = 0.35  # opening gap volatility, as a share of the daily sigma
_WICK = 0.45  # high/low excursion beyond open/close, as a share of the daily sigma
_LOGISTIC = np.sqrt(3.0) / np.pi  # logistic scale with unit variance


def daily_bars(
    rng: np.random.Generator,
    frame: tuple[IntArray, IntArray, IntArray, IntArray],
    halted: np.ndarray,
    scale: tuple[float | FloatArray, float | FloatArray],
    tick: float,
) -> BarArrays:
    """Daily bars of a block of days (arrays of any shape, e.g. cohort rows × days).

    Args:
        rng: the block's generator.
        frame: (previous close, close, low limit, high limit) per day, in ticks.
        halted: scheduled suspension days.
        scale: (daily sigma, typical daily money in CNY) of the code(s): floats, or arrays
            broadcasting against the frame (one row per code of a cohort).
        tick: tick size in CNY (for volume and money).

    Guarantees: open, high, low within the limits; ``low ≤ min(open, close)`` and
    ``max(open, close) ≤ high``; volume a multiple of 100 with at least 100 shares per minute;
    money in integer cents. A suspended day is flat at its previous close with no volume.
    """
    pre, close, low_limit, high_limit = frame
    sigma, daily_money = scale
    u = rng.random((4, *close.shape))
    z = np.log(u / (1.0 - u)) * _LOGISTIC  # unit-variance logistic draws (cheap, fat-tailed)
    day_open = np.rint(pre * np.exp(z[0] * (_GAP * sigma)))
    day_open = np.clip(day_open, low_limit, high_limit).astype(np.int64)
    top = np.maximum(day_open, close)
    bottom = np.minimum(day_open, close)
    stretch = np.exp(np.abs(z[1:3]) * (_WICK * sigma))  # ≥ 1: away from the body
    high = np.minimum(np.rint(top * stretch[0]).astype(np.int64), high_limit)
    low = np.maximum(np.rint(bottom / stretch[1]).astype(np.int64), low_limit)
    lots = (daily_money / (100.0 * tick)) * np.exp(0.3 * z[3]) / close
    volume = np.maximum(np.rint(lots), BARS_PER_DAY).astype(np.int64) * 100
    money = np.rint(volume * (day_open + high + low + close) * (tick * 25.0)).astype(np.int64)
    bars = BarArrays(day_open, high, low, np.asarray(close, dtype=np.int64), volume, money)
    if halted.any():
        for prices in (bars.open, bars.high, bars.low, bars.close):
            prices[halted] = pre[halted]
        bars.volume[halted] = 0
        bars.money[halted] = 0
    return bars
