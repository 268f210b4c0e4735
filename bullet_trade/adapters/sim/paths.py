"""Daily close paths of the simulated exchange, generated with vectorised numpy.

A path is produced a block of :data:`PATH_BLOCK` trading days at a time from one generator
seeded by ``(seed, code, "path", block)``; a block only needs the previous block's last
close, so extending a path never changes days already generated.

Model (log price in ticks): a mean-reverting random walk (AR(1) towards the profile level,
computed in closed form), plus rare jumps larger than the price limit. Each day's log return
is clamped to the limit band; a clamped day closes EXACTLY at its limit price. The integer
closes are then settled (:func:`settle`) so that every close obeys the exchange rule relative
to the previous integer close (limits are computed from the rounded previous close, which a
float path cannot know): at most a few positions need a second look, never a Python loop over
every day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

PATH_BLOCK = 4096  # trading days per block of path draws (about sixteen years)
_REVERSION = 0.02  # daily pull of the log price towards the profile level
_JUMP = 1.05  # a jump day's extra return, as a multiple of the limit ratio (so it clamps)
_MARGIN_TICKS = 2.5  # safety band inside the limits for non-limit days (rounding headroom)


@dataclass(frozen=True, slots=True)
class PathSpec:
    """What one code's path needs besides the random draws.

    Attributes:
        level: long-run level in ticks.
        sigma: daily volatility of log returns.
        jump_prob: chance per day of a jump beyond the limit.
        jump_size: limit ratio used to size the jumps.
        suspend_prob: chance per day of a scheduled suspension (0: never).
    """

    level: float
    sigma: float
    jump_prob: float
    jump_size: float
    suspend_prob: float


@dataclass(frozen=True, slots=True)
class PathBlock:
    """One block of a path: closes in ticks, scheduled suspension days."""

    closes: IntArray
    suspended: BoolArray


def limit_bounds(pre: IntArray, pct: IntArray) -> tuple[IntArray, IntArray]:
    """(low, high) limits in ticks for previous closes ``pre`` and integer percents ``pct``:
    exact integer round-half-up of ``pre × (100 ± pct) / 100`` (low at least one tick)."""
    high = (pre * (100 + pct) + 50) // 100
    low = np.maximum((pre * (100 - pct) + 50) // 100, 1)
    return low, high


def settle(
    cand: IntArray,
    up: BoolArray,
    down: BoolArray,
    halted: BoolArray,
    pct: IntArray,
    origin: int,
    todo: IntArray | None = None,
) -> IntArray:
    """Integer closes obeying the sequential rule, from candidate closes.

    Rule per day ``t`` (``p`` = close of ``t-1``, ``origin`` for the first day): halted days
    close at ``p``; ``up``/``down`` days at the high/low limit of ``p``; other days at the
    candidate clipped into the limits of ``p``. The result equals a day-by-day loop, but only
    positions whose predecessor changed are recomputed after the first pass. ``todo`` lists
    the positions that may break the rule as candidates (default: all); the caller vouches
    that every other candidate already obeys it relative to the previous candidate.
    """
    closes = cand.copy()
    if todo is None:
        todo = np.arange(len(cand))
    while todo.size:
        prev = closes[todo - 1]
        prev[todo == 0] = origin
        low, high = limit_bounds(prev, pct[todo])
        new = np.clip(cand[todo], low, high)
        new = np.where(up[todo], high, np.where(down[todo], low, new))
        new = np.where(halted[todo], prev, new)
        changed = todo[new != closes[todo]]
        closes[todo] = new
        todo = changed + 1
        todo = todo[todo < len(cand)]
    return np.asarray(closes, dtype=np.int64)


_POWERS = (1.0 - _REVERSION) ** np.arange(1, PATH_BLOCK + 1, dtype=np.float64)
_LOGISTIC = np.sqrt(3.0) / np.pi  # logistic scale with unit variance


def _ar1(start: float, level: float, shocks: FloatArray) -> FloatArray:
    """x_t = a·x_{t-1} + (1-a)·level + shock_t from x_{-1} = start, in closed form."""
    scaled = np.cumsum(shocks / _POWERS)
    return np.asarray(_POWERS * (start - level + scaled) + level, dtype=np.float64)


def _shocks(rng: np.random.Generator, spec: PathSpec) -> tuple[FloatArray, BoolArray]:
    """Daily log-return shocks (logistic: fatter tails than normal, as real returns; the
    extreme tails become jumps beyond the limit) and the scheduled suspension days."""
    u = rng.random(PATH_BLOCK)
    shocks = np.log(u / (1.0 - u)) * (_LOGISTIC * spec.sigma)
    half = spec.jump_prob / 2.0
    jump = _JUMP * spec.jump_size
    shocks += np.where(u < half, -jump, 0.0) + np.where(u > 1.0 - half, jump, 0.0)
    halted = np.zeros(PATH_BLOCK, dtype=np.bool_)
    if spec.suspend_prob > 0:
        count = int(rng.poisson(spec.suspend_prob * PATH_BLOCK))
        halted[rng.integers(0, PATH_BLOCK, count)] = True
    return shocks, halted


def _clamp(start: float, x: FloatArray, pct: IntArray, halted: BoolArray) -> tuple[
    FloatArray, BoolArray, BoolArray
]:
    """Clamp each day's log return into its limit band (less a rounding margin); a clamped
    day's excess is taken out of the AR process. Returns the new path and the limit days."""
    prev = np.concatenate(([start], x[:-1]))
    step = x - prev
    margin = _MARGIN_TICKS / np.exp(prev)
    ratio: float | FloatArray = float(pct[0]) / 100.0 if pct.min() == pct.max() else pct / 100.0
    hi = np.log1p(ratio) - margin
    lo = np.log1p(-ratio) + margin
    excess = step - np.clip(step, lo, hi)
    up, down = (excess > 0) & ~halted, (excess < 0) & ~halted
    excess[halted] = step[halted]
    if up.any() or down.any() or halted.any():
        # remove the excess as if it had never entered the AR process, so the mean reversion
        # still applies after limit days (a lost excess would otherwise accumulate as drift)
        x = x - _POWERS * np.cumsum(excess / _POWERS)
    return x, up, down


def generate_block(
    rng: np.random.Generator, spec: PathSpec, origin: int, pct: IntArray, first_block: bool
) -> PathBlock:
    """The next :data:`PATH_BLOCK` days of a path whose previous close is ``origin`` (ticks).

    ``pct`` holds each day's limit in integer percent. Guarantees: every close is ≥ 1 tick and
    within the limits of the previous close; a suspended day closes at the previous close.
    """
    shocks, halted = _shocks(rng, spec)
    if first_block:
        halted[0] = False
    start = float(np.log(origin))
    x = _ar1(start, float(np.log(spec.level)), shocks)
    x, up, down = _clamp(start, x, pct, halted)
    cand = np.maximum(np.rint(np.exp(x)), 1).astype(np.int64)
    prev = np.concatenate(([origin], cand[:-1])).astype(np.float64)
    ratio = pct / 100.0
    near = (cand > prev * (1.0 + ratio) - 1.0) | (cand < prev * (1.0 - ratio) + 1.0)
    todo = np.flatnonzero(near | up | down | halted)
    closes = settle(cand, up, down, halted, pct, origin, todo)
    return PathBlock(closes, halted)
