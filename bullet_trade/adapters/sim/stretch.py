"""One code's prices over one calendar year: the unit of generation of the simulated market.

A stretch holds a year's daily closes, previous closes (adjusted on the ex-date), limits,
suspension days, daily bars and ex-dividend event. The stretches of one year are generated for
a whole cohort of codes at once (:func:`cohort_of`: the 100 codes sharing the exchange and the
first four digits, hence the board), from ONE generator seeded by ``(seed, cohort, "year",
year)`` — event draws first, then the paths (:mod:`.paths`), then the daily bars
(:mod:`.daily`) — and from two anchors per code: the year's first previous close and the
year's last close, which depend only on ``(seed, code, year)`` (:func:`anchor_close`). So a
request for one year generates that year only, and every request sees the same data: a
code's cohort is fixed, whatever is asked first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

import numpy as np

from bullet_trade.adapters.sim import paths
from bullet_trade.adapters.sim.daily import daily_bars
from bullet_trade.adapters.sim.dividends import EventDraw, ExEvent, draw_event
from bullet_trade.adapters.sim.intraday import BarArrays, IntArray
from bullet_trade.adapters.sim.universe import ORIGIN, generator, profile, stable_unit
from bullet_trade.model.codes import Security
from bullet_trade.model.rules import limit_ratio, tick_size

#: Chance per trading day that a synthetic stock is suspended (see ``prices.suspensions_apply``).
SUSPEND_PROBABILITY = 0.004
COHORT = 100  # codes generated together (same exchange, same first four digits)
_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class Stretch:
    """A code's year: day ``first + i`` of the calendar is row ``i`` of every array.

    Attributes:
        first: trading-day index of the year's first day.
        pre: previous close per day (the ex-date's adjusted reference price), ticks.
        closes: close per day, ticks (raw, unadjusted).
        suspended: scheduled suspension days.
        pct: daily limit in integer percent.
        bars: daily bars (see :mod:`.daily`).
        ex: the year's ex-dividend date and event, if any.
    """

    first: int
    pre: IntArray
    closes: IntArray
    suspended: np.ndarray
    pct: IntArray
    bars: BarArrays
    ex: paths.Ex | None

    def event(self) -> ExEvent | None:
        """The year's ex-dividend event on the calendar, with its adjustment ratio."""
        if self.ex is None:
            return None
        pos = self.ex.pos
        raw = int(self.closes[pos - 1]) if pos else int(self.pre[0])
        ratio = int(self.pre[pos]) / raw
        return ExEvent(self.first + pos, self.ex.event.cash, self.ex.event.bonus, ratio)


def cohort_of(security: Security) -> list[Security]:
    """The codes generated together with ``security`` (itself included), in a fixed order."""
    base = int(security.symbol) // COHORT * COHORT
    return [Security(f"{base + i:06d}", security.exchange) for i in range(COHORT)]


@lru_cache(maxsize=65536)
def anchor_close(seed: int, security: Security, year: int) -> int:
    """Previous close (ticks) of the first trading day of ``year``: the profile level for the
    first simulated year, else a draw around it depending only on ``(seed, code, year)``."""
    prof = profile(security)
    level = prof.level / tick_size(security)
    if year <= ORIGIN.year:
        return max(round(level), 1)
    u = min(max(stable_unit(seed, security.jq, "anchor", year), 1e-9), 1.0 - 1e-9)
    scale = paths.spread(prof.sigma, prof.jump_prob, limit_ratio(security) or 0.10)
    return paths.anchor(level, scale, _NORMAL.inv_cdf(u))


def mills_per_tick(security: Security) -> int:
    """How many 0.001 CNY one price tick is (10 for stocks, 1 for funds)."""
    return max(round(tick_size(security) * 1000), 1)


def _spec(members: Sequence[Security], suspensions: Sequence[bool]) -> paths.PathSpec:
    profs = [profile(s) for s in members]
    tick = tick_size(members[0])
    return paths.PathSpec(
        level=np.array([p.level / tick for p in profs]),
        sigma=np.array([p.sigma for p in profs]),
        jump_prob=np.array([p.jump_prob for p in profs]),
        jump_size=np.array([limit_ratio(s) or 0.10 for s in members]),
        suspend_prob=np.array([SUSPEND_PROBABILITY if x else 0.0 for x in suspensions]),
    )


def _events(
    u: np.ndarray, members: Sequence[Security], origins: IntArray, days: int
) -> list[EventDraw | None]:
    mills = mills_per_tick(members[0])
    return [draw_event(u[i], s, int(origins[i]), days, mills) for i, s in enumerate(members)]


def build_cohort(
    seed: int,
    members: Sequence[Security],
    year: int,
    first: int,
    pct: IntArray,
    suspensions: Sequence[bool],
) -> list[Stretch]:
    """Generate the stretches of ``members`` (one cohort, see :func:`cohort_of`) for ``year``:
    ``pct[i]`` holds member ``i``'s daily limit percents over the year's trading days, which
    start at day index ``first``. Deterministic in ``seed``, the cohort, the year and the
    year's calendar."""
    rows, n = pct.shape
    rng = generator(seed, members[0].jq, "year", year)
    origins = np.array([anchor_close(seed, s, year) for s in members], dtype=np.int64)
    targets = np.array([anchor_close(seed, s, year + 1) for s in members], dtype=np.int64)
    draws = _events(rng.random((rows, 5)), members, origins, n)
    mills = mills_per_tick(members[0])
    at = [(i, d) for i, d in enumerate(draws) if d is not None]
    ex = paths.ExDates(np.array([i * n + d.offset for i, d in at], dtype=np.int64),
                       np.array([d.cash for _, d in at], dtype=np.int64),
                       np.array([d.bonus for _, d in at], dtype=np.int64), mills)
    spec = _spec(members, suspensions)
    closes, halted = paths.generate(rng, spec, (origins, targets), pct, ex)
    pre = np.concatenate((origins[:, None], closes[:, :-1]), axis=1)
    pre.ravel()[ex.pos] = ex.adjust(ex.pos, pre.ravel()[ex.pos])
    low, high = paths.limit_bounds(pre, pct)
    profs = [profile(s) for s in members]
    bars = daily_bars(rng, (pre, closes, low, high), halted,
                      (spec.sigma[:, None], np.array([p.daily_money for p in profs])[:, None]),
                      tick_size(members[0]))
    out = []
    for i, draw in enumerate(draws):
        row = BarArrays(bars.open[i], bars.high[i], bars.low[i], bars.close[i],
                        bars.volume[i], bars.money[i])
        event = paths.Ex(draw.offset, draw, mills) if draw is not None else None
        out.append(Stretch(first, pre[i], closes[i], halted[i], pct[i], row, event))
    return out
