"""One code's prices over one calendar year: the unit of generation of the simulated market.

A stretch holds a year's daily closes, previous closes (adjusted on the ex-date), limits,
suspension days, daily bars and ex-dividend event. It is generated from ONE generator seeded by
``(seed, code, "year", year)`` — event draws first, then the path (:mod:`.paths`), then the
daily bars (:mod:`.daily`) — and from two anchors: the year's first previous close and the
year's last close, which depend only on ``(seed, code, year)`` (:func:`anchor_close`). So a
request for one year generates that year only, and every request sees the same data.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from bullet_trade.adapters.sim import paths
from bullet_trade.adapters.sim.daily import daily_bars
from bullet_trade.adapters.sim.dividends import ExEvent, draw_event
from bullet_trade.adapters.sim.intraday import BarArrays, IntArray
from bullet_trade.adapters.sim.universe import ORIGIN, profile, stable_seed, stable_unit
from bullet_trade.model.codes import Security
from bullet_trade.model.rules import limit_ratio, tick_size

#: Chance per trading day that a synthetic stock is suspended (see ``prices.suspensions_apply``).
SUSPEND_PROBABILITY = 0.004
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


def path_spec(security: Security, suspensions: bool) -> paths.PathSpec:
    """The path parameters of ``security`` (levels in ticks)."""
    prof = profile(security)
    return paths.PathSpec(
        level=prof.level / tick_size(security),
        sigma=prof.sigma,
        jump_prob=prof.jump_prob,
        jump_size=limit_ratio(security) or 0.10,
        suspend_prob=SUSPEND_PROBABILITY if suspensions else 0.0,
    )


def anchor_close(seed: int, security: Security, year: int, spec: paths.PathSpec) -> int:
    """Previous close (ticks) of the first trading day of ``year``: the profile level for the
    first simulated year, else a draw around it depending only on ``(seed, code, year)``."""
    if year <= ORIGIN.year:
        return max(round(spec.level), 1)
    u = min(max(stable_unit(seed, security.jq, "anchor", year), 1e-9), 1.0 - 1e-9)
    return paths.anchor(spec, _NORMAL.inv_cdf(u))


def mills_per_tick(security: Security) -> int:
    """How many 0.001 CNY one price tick is (10 for stocks, 1 for funds)."""
    return max(round(tick_size(security) * 1000), 1)


def build_stretch(
    seed: int, security: Security, year: int, first: int, pct: IntArray, suspensions: bool
) -> Stretch:
    """Generate ``security``'s stretch for ``year`` (``len(pct)`` trading days from index
    ``first``). Deterministic in ``(seed, code, year)`` and the year's calendar."""
    spec = path_spec(security, suspensions)
    origin = anchor_close(seed, security, year, spec)
    target = anchor_close(seed, security, year + 1, spec)
    rng = np.random.default_rng(stable_seed(seed, security.jq, "year", year))
    mills = mills_per_tick(security)
    draw = draw_event(rng, security, origin, len(pct), mills)
    ex = paths.Ex(draw.offset, draw, mills) if draw is not None else None
    made = paths.generate_stretch(rng, spec, (origin, target), pct, ex)
    pre = np.concatenate(([origin], made.closes[:-1])).astype(np.int64)
    if ex is not None:
        pre[ex.pos] = ex.pre(pre[ex.pos : ex.pos + 1])[0]
    low, high = paths.limit_bounds(pre, pct)
    bars = daily_bars(rng, (pre, made.closes, low, high), made.suspended, profile(security),
                      tick_size(security))
    return Stretch(first, pre, made.closes, made.suspended, pct, bars, ex)
