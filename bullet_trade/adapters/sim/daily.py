"""Daily bars of the simulated exchange: the source of truth for every day.

Given a block of days' previous closes, closes, limits and suspension flags (from
:mod:`.paths`), this draws each day's open, high, low, volume and money with vectorised numpy.
Minute bars (:mod:`.intraday`) are then derived FROM a daily bar, so daily history never needs
minute bars and the minutes still aggregate exactly into it.
"""

from __future__ import annotations

import numpy as np

from bullet_trade.adapters.sim.intraday import BARS_PER_DAY, BarArrays, IntArray
from bullet_trade.adapters.sim.universe import Profile

_GAP = 0.35  # opening gap volatility, as a share of the daily sigma
_WICK = 0.45  # high/low excursion beyond open/close, as a share of the daily sigma


def daily_bars(
    rng: np.random.Generator,
    frame: tuple[IntArray, IntArray, IntArray, IntArray],
    halted: np.ndarray,
    profile: Profile,
    tick: float,
) -> BarArrays:
    """Daily bars of a block of days.

    Args:
        rng: the block's generator.
        frame: (previous close, close, low limit, high limit) per day, in ticks.
        halted: scheduled suspension days.
        profile: the code's statistical profile.
        tick: tick size in CNY (for volume and money).

    Guarantees: open, high, low within the limits; ``low ≤ min(open, close)`` and
    ``max(open, close) ≤ high``; volume a multiple of 100 with at least 100 shares per minute;
    money in integer cents. A suspended day is flat at its previous close with no volume.
    """
    pre, close, low_limit, high_limit = frame
    n = len(close)
    draws = rng.standard_normal((3, n))
    day_open = np.clip(np.rint(pre * np.exp(draws[0] * (_GAP * profile.sigma))), low_limit,
                       high_limit).astype(np.int64)
    top = np.maximum(day_open, close)
    bottom = np.minimum(day_open, close)
    wick = _WICK * profile.sigma
    high = np.clip(np.rint(top * np.exp(np.abs(draws[1]) * wick)), top, high_limit)
    low = np.clip(np.rint(bottom * np.exp(-np.abs(draws[2]) * wick)), low_limit, bottom)
    shares = profile.daily_money / (close * tick) * rng.lognormal(0.0, 0.3, n)
    lots = np.maximum(np.rint(shares / 100.0), BARS_PER_DAY)
    volume = (lots * 100).astype(np.int64)
    typical = (day_open + high + low + close) / 4.0
    money = np.rint(volume * typical * (tick * 100.0)).astype(np.int64)
    bars = BarArrays(day_open, high.astype(np.int64), low.astype(np.int64),
                     close.astype(np.int64), volume, money)
    if halted.any():
        for prices in (bars.open, bars.high, bars.low, bars.close):
            prices[halted] = pre[halted]
        bars.volume[halted] = 0
        bars.money[halted] = 0
    return bars
