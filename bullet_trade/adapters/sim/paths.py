"""Daily close paths of the simulated exchange, generated with vectorised numpy.

A path is made of yearly stretches (:mod:`.stretch`). The stretches of one year are generated
for a COHORT of codes at once (rows of 2-D arrays; a cohort is a pure function of the code, so
each code's data still depends only on ``(seed, code, year)``). A stretch starts at the year's
anchor close and ends EXACTLY on the next year's anchor (:func:`anchor`, a cheap series), so
generating one year never needs the years before it, and stretches join within the limits.

Model (log price in ticks): a mean-reverting random walk (AR(1) towards the profile level,
computed in closed form), plus rare jumps larger than the price limit, plus the ex-dividend
drop on the ex-date; the walk is bent linearly so it ends on the next anchor. Each day's log
return is clamped to the limit band; a clamped day closes EXACTLY at its limit price. The
integer closes are then settled (:func:`settle`) so that every close obeys the exchange rule
relative to the previous integer close (on an ex-date: the adjusted previous close), and the
last :data:`LANDING` days are steered onto the target (:func:`land_rows`).
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
Flags = tuple[BoolArray, BoolArray, BoolArray]  # (up, down, halted)

MAX_DAYS = 400  # most trading days a stretch (a calendar year) can have
LANDING = 10  # last days of a stretch steered onto the target (no limit/halt flags there)
REVERSION = 0.02  # daily pull of the log price towards the profile level
_JUMP = 1.05  # a jump day's extra return, as a multiple of the limit ratio (so it clamps)
_MARGIN_TICKS = 2.5  # safety band inside the limits for non-limit days (rounding headroom)
_CAP = 10**12  # bound of the landing band (ticks)
_LOGISTIC = math.sqrt(3.0) / math.pi  # logistic scale with unit variance


@dataclass(frozen=True, slots=True)
class PathSpec:
    """What a cohort's paths need besides the random draws (one value per row).

    Attributes:
        level: long-run level in ticks.
        sigma: daily volatility of log returns.
        jump_prob: chance per day of a jump beyond the limit.
        jump_size: limit ratio used to size the jumps.
        suspend_prob: chance per day of a scheduled suspension (0: never).
    """

    level: FloatArray
    sigma: FloatArray
    jump_prob: FloatArray
    jump_size: FloatArray
    suspend_prob: FloatArray


def spread(sigma: float, jump_prob: float, jump_size: float) -> float:
    """Stationary standard deviation of the log price around the level."""
    var = sigma**2 + jump_prob * (_JUMP * jump_size) ** 2
    return math.sqrt(var / (1.0 - (1.0 - REVERSION) ** 2))


@dataclass(frozen=True, slots=True)
class Ex:
    """An ex-date inside one stretch: position, the event, mills of CNY per tick."""

    pos: int
    event: EventDraw
    mills_per_tick: int

    def pre(self, prev: IntArray) -> IntArray:
        return adjusted_pre(prev, self.event.cash, self.event.bonus, self.mills_per_tick)


@dataclass(frozen=True, slots=True)
class ExDates:
    """The ex-dates of a cohort as FLAT positions into its (rows × days) arrays, ascending,
    with each event's cash (mills per share) and bonus (shares per 10)."""

    pos: IntArray
    cash: IntArray
    bonus: IntArray
    mills_per_tick: int

    def adjust(self, at: IntArray, prev: IntArray) -> IntArray:
        """``prev`` with the previous closes of the ex-dates among flat positions ``at``
        replaced by their adjusted reference prices."""
        if not self.pos.size:
            return prev
        k = np.minimum(np.searchsorted(self.pos, at), self.pos.size - 1)
        hit = self.pos[k] == at
        if hit.any():
            prev = prev.copy()
            prev[hit] = adjusted_pre(prev[hit], self.cash[k[hit]], self.bonus[k[hit]],
                                     self.mills_per_tick)
        return prev


def anchor(level: float, scale: float, z: float) -> int:
    """Anchor close (ticks) for a standard normal draw ``z`` (clipped to ±3): ``level`` times
    ``exp(scale × z)``; one year apart the AR(1) path has all but forgotten its start, so
    independent draws per year are faithful to the model."""
    z = max(-3.0, min(3.0, z))
    return max(round(level * math.exp(scale * z)), 1)


def limit_bounds(pre: IntArray, pct: IntArray) -> tuple[IntArray, IntArray]:
    """(low, high) limits in ticks for previous closes ``pre`` and integer percents ``pct``:
    exact integer round-half-up of ``pre × (100 ± pct) / 100`` (low at least one tick)."""
    high = (pre * (100 + pct) + 50) // 100
    low = np.maximum((pre * (100 - pct) + 50) // 100, 1)
    return low, high


def settle(
    cand: IntArray,
    flags: Flags,
    pct: IntArray,
    origin: IntArray,
    todo: IntArray | None = None,
    ex: ExDates | None = None,
) -> IntArray:
    """Integer closes obeying the sequential rule, from candidate closes.

    All arrays are flat (rows of ``len(cand) // len(origin)`` days, one row per origin).
    Rule per day ``t`` of a row (``p`` = close of ``t-1``, the row's origin for its first
    day, replaced by the adjusted reference price on an ex-date); ``flags = (up, down,
    halted)``: halted days close at ``p``; ``up``/``down`` days at the high/low limit of
    ``p``; other days at the candidate clipped into the limits of ``p``. The result equals a
    day-by-day loop, but only positions whose predecessor changed are recomputed after the
    first pass. ``todo`` lists the positions that may break the rule as candidates (default:
    all); the caller vouches that every other candidate already obeys it relative to the
    previous candidate.
    """
    up, down, halted = flags
    width = len(cand) // len(origin)
    closes = cand.copy()
    todo = np.arange(len(cand)) if todo is None else todo
    while todo.size:
        prev = closes[todo - 1]
        head = todo % width == 0
        prev[head] = origin[todo[head] // width]
        if ex is not None:
            prev = ex.adjust(todo, prev)
        low, high = limit_bounds(prev, pct[todo])
        new = np.clip(cand[todo], low, high)
        new = np.where(up[todo], high, np.where(down[todo], low, new))
        new = np.where(halted[todo], prev, new)
        changed = todo[new != closes[todo]]
        closes[todo] = new
        todo = changed + 1
        todo = todo[(todo < len(cand)) & (todo % width != 0)]
    return np.asarray(closes, dtype=np.int64)


def reach_band(pct: IntArray, target: IntArray) -> tuple[IntArray, IntArray]:
    """Per row, the closes of each day (columns of ``pct``) from which the row's ``target``
    can still be reached on the last day (plain limit days, no ex-date): ``(lo, hi)`` arrays
    shaped like ``pct``, the last column being ``target``."""
    lo = np.empty_like(pct)
    hi = np.empty_like(pct)
    lo[:, -1] = hi[:, -1] = target
    for j in range(pct.shape[1] - 1, 0, -1):
        p = pct[:, j]
        lo[:, j - 1] = np.maximum(-((50 - 100 * lo[:, j]) // (100 + p)), 1)  # least with high ≥ lo
        hi[:, j - 1] = np.minimum((100 * hi[:, j] + 49) // (100 - p), _CAP)  # greatest low ≤ hi
    return lo, hi


def land_rows(closes: IntArray, cand: IntArray, pct: IntArray, first: int,
              target: IntArray) -> BoolArray:
    """Re-settle columns ``first..`` of the 2-D ``closes`` in place so each row's last close is
    its ``target``: each close is the candidate clipped into its limits AND into the band that
    can still reach the target. Rows whose close before ``first`` cannot reach the target in
    time are left untouched; returns which rows landed. Columns from ``first`` on must carry
    no limit or halt flags and no ex-date."""
    lo, hi = reach_band(pct[:, first:], target)
    prev = closes[:, first - 1]
    low, high = limit_bounds(prev, pct[:, first])
    ok = (high >= lo[:, 0]) & (low <= hi[:, 0])
    rows = np.flatnonzero(ok)
    prev = prev[rows]
    for j in range(pct.shape[1] - first):
        col = first + j
        low, high = limit_bounds(prev, pct[rows, col])
        prev = np.clip(cand[rows, col], np.maximum(low, lo[rows, j]), np.minimum(high, hi[rows, j]))
        closes[rows, col] = prev
    return ok


def _shocks(rng: np.random.Generator, spec: PathSpec, n: int) -> tuple[FloatArray, BoolArray]:
    """Daily log-return shocks (logistic: fatter tails than normal, as real returns; the
    extreme tails become jumps beyond the limit) and the scheduled suspension days."""
    u = rng.random((2, len(spec.level), n))
    shocks = np.log(u[0] / (1.0 - u[0])) * (_LOGISTIC * spec.sigma[:, None])
    half = (spec.jump_prob / 2.0)[:, None]
    jump = (_JUMP * spec.jump_size)[:, None]
    shocks += jump * ((u[0] > 1.0 - half).astype(np.float64) - (u[0] < half))
    halted = u[1] < spec.suspend_prob[:, None]
    return shocks, halted


_POWERS = (1.0 - REVERSION) ** np.arange(1, MAX_DAYS + 1, dtype=np.float64)


def _ar1(start: FloatArray, level: FloatArray, shocks: FloatArray) -> FloatArray:
    """x_t = a·x_{t-1} + (1-a)·level + shock_t from x_{-1} = start, in closed form, per row."""
    powers = _POWERS[: shocks.shape[1]]
    scaled = np.cumsum(shocks / powers, axis=1)
    return np.asarray(powers * ((start - level)[:, None] + scaled) + level[:, None])


def _clamp(start: FloatArray, x: FloatArray, ratio: FloatArray, halted: BoolArray,
           gap: FloatArray) -> tuple[FloatArray, BoolArray, BoolArray]:
    """Clamp each day's log return (less the ex-date ``gap``) into its limit band (less a
    rounding margin); a clamped day's excess is taken out of the AR process. Returns the new
    path and the limit days."""
    prev = np.concatenate((start[:, None], x[:, :-1]), axis=1)
    step = x - prev - gap
    margin = _MARGIN_TICKS * np.exp(-prev)
    excess = step - np.clip(step, np.log1p(-ratio) + margin, np.log1p(ratio) - margin)
    up, down = (excess > 0) & ~halted, (excess < 0) & ~halted
    excess[halted] = step[halted]
    # remove the excess as if it had never entered the AR process, so the mean reversion
    # still applies after limit days (a lost excess would otherwise accumulate as drift)
    powers = _POWERS[: x.shape[1]]
    return x - powers * np.cumsum(excess / powers, axis=1), up, down


def generate(
    rng: np.random.Generator, spec: PathSpec, ends: tuple[IntArray, IntArray], pct: IntArray,
    ex: ExDates,
) -> tuple[IntArray, BoolArray]:
    """Closes (ticks) and suspension days of a cohort's stretches: rows of ``pct.shape[1]``
    days from ``ends = (origins, targets)``.

    ``pct`` holds each day's limit in integer percent; ``ex`` the ex-dates (before the last
    :data:`LANDING` days). Guarantees, per row: every close is ≥ 1 tick and within the limits
    of the previous close (the adjusted one on the ex-date); a suspended day closes at the
    previous close; the last close is exactly the row's target.
    """
    origin, target = ends
    rows, n = pct.shape
    shocks, halted = _shocks(rng, spec, n)
    gap = np.zeros((rows, n))
    at = np.unravel_index(ex.pos, (rows, n))
    halted.ravel()[ex.pos] = False
    gap[at] = np.log(ex.adjust(ex.pos, origin[at[0]]) / origin[at[0]])
    halted[:, -LANDING:] = False
    start = np.log(origin.astype(np.float64))
    ratio = pct / 100.0
    x = _ar1(start, np.log(spec.level), shocks + gap)
    x, up, down = _clamp(start, x, ratio, halted, gap)
    x += (np.log(target) - x[:, -1])[:, None] * (np.arange(1, n + 1) / n)
    up[:, -LANDING:] = down[:, -LANDING:] = False
    cand = np.maximum(np.rint(np.exp(x)), 1).astype(np.int64)
    prev = np.concatenate((origin[:, None], cand[:, :-1]), axis=1).astype(np.float64)
    mask = (cand > prev * (1.0 + ratio) - 1.0) | (cand < prev * (1.0 - ratio) + 1.0)
    mask |= up | down | halted
    mask.ravel()[ex.pos] = True
    flat = settle(cand.ravel(), (up.ravel(), down.ravel(), halted.ravel()), pct.ravel(),
                  origin, np.flatnonzero(mask), ex)
    closes = flat.reshape(rows, n)
    landed = land_rows(closes, cand, pct, n - LANDING, target)
    for row in np.flatnonzero(~landed):  # rare: land from the day after the ex-date
        _land_late(closes, cand, pct, (int(row), target), (up, down, halted), ex)
    return closes, halted


def _land_late(closes: IntArray, cand: IntArray, pct: IntArray, goal: tuple[int, IntArray],
               flags: Flags, ex: ExDates) -> None:
    """Land one row from the day after its ex-date (its limit and halt flags dropped)."""
    row, target = goal
    n = pct.shape[1]
    mine = ex.pos[(ex.pos >= row * n) & (ex.pos < (row + 1) * n)]
    first = int(mine[-1]) - row * n + 1 if mine.size else 1
    for flag in flags:
        flag[row, first:] = False
    sl = slice(row, row + 1)
    if not land_rows(closes[sl], cand[sl], pct[sl], first, target[sl])[0]:  # pragma: no cover
        raise RuntimeError(f"cannot land a stretch on {target[row]}")
