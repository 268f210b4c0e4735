"""Three-second ticks of the simulated exchange, derived from a minute bar.

A minute has :data:`TICKS_PER_BAR` (20) snapshots, tick ``k`` taken ``3 × (k + 1)`` seconds
into the minute. They agree with the minute bar they are drawn from:

* the last tick's price is the minute's close;
* every price lies within the minute's [low, high], and the highest and lowest tick prices
  ARE the minute's high and low (so the ticks aggregate into the bar's range);
* tick volumes are non-negative multiples of 100 that sum to the minute's volume.

Between those anchors the price is a random bridge from the minute's open to its close.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bullet_trade.adapters.sim.intraday import BarArrays, IntArray, allocate

TICKS_PER_BAR = 20
TICK_SECONDS = 3


@dataclass(frozen=True, slots=True)
class TickArrays:
    """One minute's ticks: last price (ticks of the price grid) and volume (shares) each."""

    price: IntArray
    volume: IntArray


def minute_ticks(rng: np.random.Generator, bar: BarArrays) -> TickArrays:
    """The 20 ticks of the minute whose bar is ``bar`` (scalar row; see module docstring)."""
    o, h, lo, c = int(bar.open), int(bar.high), int(bar.low), int(bar.close)
    n = TICKS_PER_BAR
    walk = np.cumsum(rng.standard_normal(n))
    frac = np.arange(1, n + 1, dtype=np.float64) / n
    spread = max(h - lo, 1) / 4.0
    path = o + (c - o) * frac + (walk - frac * walk[-1]) * spread / max(np.abs(walk).max(), 1.0)
    price = np.clip(np.rint(path), lo, h).astype(np.int64)
    spots = rng.permutation(n - 1)[:2]  # where the high and the low are touched
    price[spots[0]] = h
    price[spots[1]] = lo
    price[-1] = c
    lots = allocate(int(bar.volume) // 100, rng.random(n) + 0.2)
    return TickArrays(price, (lots * 100).astype(np.int64))
