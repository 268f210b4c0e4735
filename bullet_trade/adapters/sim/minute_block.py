"""Minute bars of many codes' days at once: a row-wise vectorised :func:`.intraday.minute_bars`.

Row ``r`` of :func:`minute_block` is bit-for-bit what ``minute_bars`` returns for the same
uniform draws, daily bar, limits and sigma: the same IEEE operations run element-wise in the
same order, only over a 2-D array (rows × 240 minutes) instead of one row at a time. A row's
sealed minutes (a day closing at its limit, see :mod:`.intraday`) are masked out of the
bridge instead of sliced off, and the pairwise sums use the same per-row reduction.
"""

from __future__ import annotations

import numpy as np

from bullet_trade.adapters.sim.intraday import (
    _LOGISTIC,
    _PROFILE,
    _STEPS,
    BARS_PER_DAY,
    BarArrays,
    FloatArray,
    IntArray,
)

#: Number of uniform draws one day's minute bars take (four per minute and the seal's).
DRAWS = 4 * BARS_PER_DAY + 1
_COLUMNS = np.arange(BARS_PER_DAY)
_QUARTER = BARS_PER_DAY // 4


def _row_sums(weights: FloatArray) -> FloatArray:
    """Sum of each row, computed exactly as the one-dimensional ``weights[r].sum()``."""
    return np.array([row.sum() for row in weights], dtype=np.float64)


def allocate_rows(total: IntArray, weights: FloatArray) -> IntArray:
    """Row-wise :func:`.intraday.allocate`: split ``total[r]`` along ``weights[r]``."""
    share = total / _row_sums(weights)
    running = np.rint(np.cumsum(weights, axis=1) * share[:, None]).astype(np.int64)
    running[:, -1] = total
    running[:, 1:] -= running[:, :-1].copy()
    return running


def _seal_ends(day: BarArrays, limits: tuple[IntArray, IntArray], seal: FloatArray) -> IntArray:
    """Per row, the number of minutes the bridge covers (240 unless the day seals)."""
    o, c = day.open, day.close
    sealed = ((c == limits[0]) | (c == limits[1])) & (c != o)
    drawn = _QUARTER + (seal * (BARS_PER_DAY - _QUARTER)).astype(np.int64)
    return np.where(sealed, drawn, BARS_PER_DAY)


def _scales(num: FloatArray, den: FloatArray, positive: np.ndarray) -> FloatArray:
    """``max(num / den, 0)`` where ``positive``, else 0 (the bridge's stretch factors)."""
    safe = np.where(positive, den, 1.0)
    return np.where(positive, np.maximum(num / safe, 0.0), 0.0)


def closes_block(
    z: FloatArray, seal: FloatArray, day: BarArrays, limits: tuple[IntArray, IntArray]
) -> IntArray:
    """Row-wise :func:`.intraday._closes` (``z``: rows × 240 draws, ``seal``: one per row)."""
    rows = np.arange(len(z))
    end = _seal_ends(day, limits, seal)
    inside = _COLUMNS[None, :] < end[:, None]
    walk = np.cumsum(z, axis=1)
    frac = _STEPS[None, :] / end[:, None]
    bridge = walk - frac * walk[rows, end - 1][:, None]
    o, h, lo, c = day.open[:, None], day.high, day.low, day.close[:, None]
    line = o + (c - o) * frac
    top = np.argmax(np.where(inside, bridge, -np.inf), axis=1)
    bottom = np.argmin(np.where(inside, bridge, np.inf), axis=1)
    b_top, b_bottom = bridge[rows, top], bridge[rows, bottom]
    up = _scales(h - line[rows, top], b_top, b_top > 0)
    dn = _scales(line[rows, bottom] - lo, -b_bottom, b_bottom < 0)
    path = line + np.where(bridge > 0, up[:, None], dn[:, None]) * bridge
    moved = np.clip(np.rint(path), lo[:, None], h[:, None]).astype(np.int64)
    closes = np.where(inside, moved, c)
    closes[:, -1] = day.close
    return np.asarray(closes, dtype=np.int64)


def minute_block(u: FloatArray, day: BarArrays, limits: tuple[IntArray, IntArray],
                 sigma: FloatArray) -> BarArrays:
    """Minute bars (rows × 240) of days with volume, row ``r`` from draws ``u[r]``
    (:data:`DRAWS` uniforms of the day's generator), daily bar ``day`` (1-D arrays),
    ``limits = (low, high)`` and ``sigma[r]``; see the module docstring."""
    rows = len(u)
    z = np.log(u[:, :-1] / (1.0 - u[:, :-1])).reshape(rows, 4, BARS_PER_DAY)
    close = closes_block(np.ascontiguousarray(z[:, 0]), u[:, -1], day, limits)
    open_ = np.empty_like(close)
    open_[:, 0] = day.open
    open_[:, 1:] = close[:, :-1]
    wicks = np.abs(z[:, 1:]) * _LOGISTIC
    scale = (0.3 * sigma / np.sqrt(BARS_PER_DAY))[:, None]
    top, bottom = np.maximum(open_, close), np.minimum(open_, close)
    high = np.minimum(top + np.rint(wicks[:, 0] * scale * top), day.high[:, None]).astype(np.int64)
    low = np.maximum(bottom - np.rint(wicks[:, 1] * scale * bottom),
                     day.low[:, None]).astype(np.int64)
    at = np.arange(rows)
    high[at, np.argmax(high, axis=1)] = day.high
    low[at, np.argmin(low, axis=1)] = day.low
    weights = _PROFILE * np.exp(0.4 * wicks[:, 2])
    shares = (1 + allocate_rows(day.volume // 100 - BARS_PER_DAY, weights)) * 100
    cents = allocate_rows(day.money, shares * (open_ + high + low + close).astype(np.float64))
    return BarArrays(open_, high, low, close, shares, cents)
