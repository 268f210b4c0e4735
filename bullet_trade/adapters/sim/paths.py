"""Daily close paths of the simulated exchange, generated with vectorised numpy.

A path is made of yearly stretches (:mod:`.stretch`). Each stretch is generated alone, from
one generator seeded by ``(seed, code, year)``: it starts at the year's anchor close and ends
EXACTLY on the next year's anchor (a cheap series, see :func:`anchor`), so generating one year
never needs the years before it, and stretches join without breaking the limits.

Model (log price in ticks): a mean-reverting random walk (AR(1) towards the profile level,
computed in closed form), plus rare jumps larger than the price limit, plus the ex-dividend
drop on the ex-date; the walk is bent linearly so it ends on the next anchor. Each day's log
return is clamped to the limit band; a clamped day closes EXACTLY at its limit price. The
integer closes are then settled (:func:`settle`) so that every close obeys the exchange rule
relative to the previous integer close (on an ex-date: the adjusted previous close), and the
last :data:`LANDING` days are steered onto the target (:func:`land`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bullet_trade.adapters.sim.dividends import EventDraw, adjusted_pre

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

MAX_DAYS = 400  # most trading days a stretch (a calendar year) can have
LANDING = 10  # last days of a stretch steered onto the target (no limit/halt flags there)
REVERSION = 0.02  # daily pull of the log price towards the profile level
_JUMP = 1.05  # a jump day's extra return, as a multiple of the limit ratio (so it clamps)
_MARGIN_TICKS = 2.5  # safety band inside the limits for non-limit days (rounding headroom)
_CAP = 10**12  # bound of the landing band (ticks)


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

    def spread(self) -> float:
        """Stationary standard deviation of the log price around the level."""
        var = self.sigma**2 + self.jump_prob * (_JUMP * self.jump_size) ** 2
        return math.sqrt(var / (1.0 - (1.0 - REVERSION) ** 2))


@dataclass(frozen=True, slots=True)
class Ex:
    """An ex-date inside a stretch: position, the event, mills of CNY per tick."""

    pos: int
    event: EventDraw
    mills_per_tick: int

    def pre(self, prev: IntArray) -> IntArray:
        return adjusted_pre(prev, self.event.cash, self.event.bonus, self.mills_per_tick)


@dataclass(frozen=True, slots=True)
class PathBlock:
    """One stretch of a path: closes in ticks, scheduled suspension days."""

    closes: IntArray
    suspended: BoolArray


def anchor(spec: PathSpec, z: float) -> int:
    """Anchor close (ticks) for a standard normal draw ``z`` (clipped to ±3): the level
    times ``exp(spread × z)``; one year apart the AR(1) path has all but forgotten its start,
    so independent draws per year are faithful to the model."""
    z = max(-3.0, min(3.0, z))
    return max(round(spec.level * math.exp(spec.spread() * z)), 1)


def limit_bounds(pre: IntArray, pct: IntArray) -> tuple[IntArray, IntArray]:
    """(low, high) limits in ticks for previous closes ``pre`` and integer percents ``pct``:
    exact integer round-half-up of ``pre × (100 ± pct) / 100`` (low at least one tick)."""
    high = (pre * (100 + pct) + 50) // 100
    low = np.maximum((pre * (100 - pct) + 50) // 100, 1)
    return low, high


def settle(
    cand: IntArray,
    flags: tuple[BoolArray, BoolArray, BoolArray],
    pct: IntArray,
    origin: int,
    todo: IntArray | None = None,
    ex: Ex | None = None,
) -> IntArray:
    """Integer closes obeying the sequential rule, from candidate closes.

    Rule per day ``t`` (``p`` = close of ``t-1``, ``origin`` for the first day, replaced by
    ``ex.pre(p)`` on the ex-date); ``flags = (up, down, halted)``: halted days close at ``p``;
    ``up``/``down`` days at the high/low limit of ``p``; other days at the candidate clipped
    into the limits of ``p``. The result equals a day-by-day loop, but only positions whose
    predecessor changed are recomputed after the first pass. ``todo`` lists the positions that
    may break the rule as candidates (default: all); the caller vouches that every other
    candidate already obeys it relative to the previous candidate.
    """
    up, down, halted = flags
    closes = cand.copy()
    if todo is None:
        todo = np.arange(len(cand))
    while todo.size:
        prev = closes[todo - 1]
        prev[todo == 0] = origin
        if ex is not None:
            at = todo == ex.pos
            prev[at] = ex.pre(prev[at])
        low, high = limit_bounds(prev, pct[todo])
        new = np.clip(cand[todo], low, high)
        new = np.where(up[todo], high, np.where(down[todo], low, new))
        new = np.where(halted[todo], prev, new)
        changed = todo[new != closes[todo]]
        closes[todo] = new
        todo = changed + 1
        todo = todo[todo < len(cand)]
    return np.asarray(closes, dtype=np.int64)


def reach_band(pct: list[int], target: int) -> list[tuple[int, int]]:
    """``band[i]`` = the closes of day ``i`` from which ``target`` can still be reached on
    the last day (plain limit days, no ex-date): the last band is ``(target, target)``."""
    lo, hi = target, target
    band = [(lo, hi)]
    for p in reversed(pct[1:]):
        lo = max(-(-(100 * lo - 50) // (100 + p)), 1)  # least close whose high limit ≥ lo
        hi = min((100 * hi + 49) // (100 - p), _CAP)  # greatest close whose low limit ≤ hi
        band.append((lo, hi))
    band.reverse()
    return band


def land(closes: IntArray, cand: IntArray, pct: IntArray, first: int, target: int) -> bool:
    """Re-settle days ``first..`` in place so the last close is ``target``: each close is the
    candidate clipped into its limits AND into the band that can still reach ``target``.

    Returns ``False`` (``closes`` untouched) when the close before ``first`` cannot reach the
    target in time; the caller then lands from earlier. Days from ``first`` on must carry no
    limit or halt flags and no ex-date.
    """
    band = reach_band([int(p) for p in pct[first:]], target)
    prev = int(closes[first - 1])
    p0 = int(pct[first])
    low0 = max((prev * (100 - p0) + 50) // 100, 1)
    if (prev * (100 + p0) + 50) // 100 < band[0][0] or low0 > band[0][1]:
        return False
    out = []
    for (lo, hi), p, c in zip(band, pct[first:].tolist(), cand[first:].tolist(), strict=True):
        low = max((prev * (100 - p) + 50) // 100, 1, lo)
        high = min((prev * (100 + p) + 50) // 100, hi)
        prev = min(max(c, low), high)
        out.append(prev)
    closes[first:] = out
    return True


_POWERS = (1.0 - REVERSION) ** np.arange(1, MAX_DAYS + 1, dtype=np.float64)
_LOGISTIC = np.sqrt(3.0) / np.pi  # logistic scale with unit variance


def _ar1(start: float, level: float, shocks: FloatArray) -> FloatArray:
    """x_t = a·x_{t-1} + (1-a)·level + shock_t from x_{-1} = start, in closed form."""
    powers = _POWERS[: len(shocks)]
    scaled = np.cumsum(shocks / powers)
    return np.asarray(powers * (start - level + scaled) + level, dtype=np.float64)


def _shocks(rng: np.random.Generator, spec: PathSpec, n: int) -> tuple[FloatArray, BoolArray]:
    """Daily log-return shocks (logistic: fatter tails than normal, as real returns; the
    extreme tails become jumps beyond the limit) and the scheduled suspension days."""
    u = rng.random(n)
    shocks = np.log(u / (1.0 - u)) * (_LOGISTIC * spec.sigma)
    half = spec.jump_prob / 2.0
    jump = _JUMP * spec.jump_size
    shocks += np.where(u < half, -jump, 0.0) + np.where(u > 1.0 - half, jump, 0.0)
    halted = np.zeros(n, dtype=np.bool_)
    if spec.suspend_prob > 0:
        count = int(rng.poisson(spec.suspend_prob * n))
        halted[rng.integers(0, n, count)] = True
    return shocks, halted


def _clamp(start: float, x: FloatArray, pct: IntArray, halted: BoolArray,
           gap: FloatArray) -> tuple[FloatArray, BoolArray, BoolArray]:
    """Clamp each day's log return (less the ex-date ``gap``) into its limit band (less a
    rounding margin); a clamped day's excess is taken out of the AR process. Returns the new
    path and the limit days."""
    n = len(x)
    prev = np.concatenate(([start], x[:-1]))
    step = x - prev - gap
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
        powers = _POWERS[:n]
        x = x - powers * np.cumsum(excess / powers)
    return x, up, down


def generate_stretch(
    rng: np.random.Generator,
    spec: PathSpec,
    ends: tuple[int, int],
    pct: IntArray,
    ex: Ex | None = None,
) -> PathBlock:
    """One stretch of ``len(pct)`` days from ``ends = (origin, target)`` closes (ticks).

    ``pct`` holds each day's limit in integer percent; ``ex`` the stretch's ex-date, if any
    (before the last :data:`LANDING` days). Guarantees: every close is ≥ 1 tick and within the
    limits of the previous close (the adjusted one on the ex-date); a suspended day closes at
    the previous close; the last close is exactly ``target``.
    """
    origin, target = ends
    n = len(pct)
    shocks, halted = _shocks(rng, spec, n)
    gap = np.zeros(n)
    if ex is not None:
        halted[ex.pos] = False
        gap[ex.pos] = math.log(int(ex.pre(np.array([origin]))[0]) / origin)
    halted[-LANDING:] = False
    start = float(np.log(origin))
    x = _ar1(start, float(np.log(spec.level)), shocks + gap)
    x, up, down = _clamp(start, x, pct, halted, gap)
    x += (math.log(target) - x[-1]) * (np.arange(1, n + 1) / n)
    up[-LANDING:] = down[-LANDING:] = False
    cand = np.maximum(np.rint(np.exp(x)), 1).astype(np.int64)
    prev = np.concatenate(([origin], cand[:-1])).astype(np.float64)
    ratio = pct / 100.0
    near = (cand > prev * (1.0 + ratio) - 1.0) | (cand < prev * (1.0 - ratio) + 1.0)
    todo = np.flatnonzero(near | up | down | halted)
    if ex is not None:
        todo = np.union1d(todo, [ex.pos])
    closes = settle(cand, (up, down, halted), pct, origin, todo, ex)
    _land_anywhere(closes, cand, pct, target, (up, down, halted), ex)
    return PathBlock(closes, halted)


def _land_anywhere(closes: IntArray, cand: IntArray, pct: IntArray, target: int,
                   flags: tuple[BoolArray, BoolArray, BoolArray], ex: Ex | None) -> None:
    """Land on ``target`` over the last :data:`LANDING` days, or (rarely) over every day after
    the ex-date (its limit and halt flags dropped)."""
    n = len(closes)
    if land(closes, cand, pct, n - LANDING, target):
        return
    first = (ex.pos if ex is not None else 0) + 1
    for flag in flags:
        flag[first:] = False
    if not land(closes, cand, pct, first, target):  # pragma: no cover - a 350x band
        raise RuntimeError(f"cannot land a stretch on {target} from {closes[first - 1]}")
