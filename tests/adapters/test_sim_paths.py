"""Vectorised price generation: settle (with an ex-date) equals the day-by-day rule; landing a
stretch on its target; stretches join across years within the limits; minute bars derived from
a daily bar aggregate exactly into it."""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bullet_trade.adapters.sim import build_sim_backend, paths
from bullet_trade.adapters.sim.daily import daily_bars
from bullet_trade.adapters.sim.dividends import EventDraw
from bullet_trade.adapters.sim.intraday import allocate, minute_bars
from bullet_trade.adapters.sim.universe import Profile
from bullet_trade.config import SimConfig
from bullet_trade.model.clock import ManualClock
from bullet_trade.model.codes import parse_security


def _limits(prev: int, p: int) -> tuple[int, int]:
    return max((prev * (100 - p) + 50) // 100, 1), (prev * (100 + p) + 50) // 100


def _sequential(cand, flags, pct, origin, ex=None):  # type: ignore[no-untyped-def]
    out, prev = [], origin
    for t, (c, u, d, h, p) in enumerate(zip(cand, *flags, pct, strict=True)):
        if ex is not None and t == ex.pos:
            prev = int(ex.pre(np.array([prev]))[0])
        low, high = _limits(prev, p)
        prev = prev if h else high if u else low if d else min(max(int(c), low), high)
        out.append(prev)
    return out


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32), st.sampled_from([5, 10, 20, 30]), st.integers(1, 5000),
       st.booleans())
def test_settle_equals_the_sequential_rule(seed: int, pct: int, origin: int, div: bool) -> None:
    rng = np.random.default_rng(seed)
    n = 60
    cand = np.maximum(np.rint(origin * np.exp(np.cumsum(rng.normal(0, 0.08, n)))), 1)
    raw = rng.random((3, n)) < 0.15
    flags = (raw[0], raw[1] & ~raw[0], raw[2])
    pcts = np.full(n, pct, dtype=np.int64)
    ex = dates = None
    if div:
        event = EventDraw(int(rng.integers(0, n)), int(rng.integers(1, 500)),
                          int(rng.choice([0, 3, 10])))
        ex = paths.Ex(event.offset, event, 10)
        dates = paths.ExDates(np.array([event.offset]), np.array([event.cash]),
                              np.array([event.bonus]), 10)
    got = paths.settle(cand.astype(np.int64), flags, pcts, np.array([origin]), ex=dates)
    assert got.tolist() == _sequential(cand, flags, pcts, origin, ex)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32), st.sampled_from([5, 10, 20]))
def test_settle_of_a_cohort_equals_each_row_alone(seed: int, pct: int) -> None:
    rng = np.random.default_rng(seed)
    rows, n = 4, 30
    origins = rng.integers(1, 3000, rows)
    cand = np.maximum(np.rint(origins[:, None] * np.exp(np.cumsum(
        rng.normal(0, 0.08, (rows, n)), axis=1))), 1).astype(np.int64)
    raw = rng.random((3, rows, n)) < 0.15
    flags = (raw[0], raw[1] & ~raw[0], raw[2])
    pcts = np.full((rows, n), pct, dtype=np.int64)
    offsets = rng.integers(0, n, rows)
    dates = paths.ExDates(np.arange(rows) * n + offsets, rng.integers(1, 300, rows),
                          rng.integers(0, 4, rows), 10)
    flat = (flags[0].ravel(), flags[1].ravel(), flags[2].ravel())
    got = paths.settle(cand.ravel(), flat, pcts.ravel(), origins, ex=dates).reshape(rows, n)
    for r in range(rows):
        event = EventDraw(int(offsets[r]), int(dates.cash[r]), int(dates.bonus[r]))
        one = paths.Ex(event.offset, event, 10)
        row_flags = (flags[0][r], flags[1][r], flags[2][r])
        assert got[r].tolist() == _sequential(cand[r], row_flags, pcts[r], int(origins[r]), one)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32), st.sampled_from([5, 10, 20, 30]), st.integers(1, 5000))
def test_reach_band_is_exact(seed: int, pct: int, target: int) -> None:
    lo, hi = paths.reach_band(np.full((1, 8), pct, dtype=np.int64), np.array([target]))
    band = list(zip(lo[0].tolist(), hi[0].tolist(), strict=True))
    assert band[-1] == (target, target)
    for (lo, hi), (lo_next, hi_next) in pairwise(band):
        assert _limits(lo, pct)[1] >= lo_next and (lo == 1 or _limits(lo - 1, pct)[1] < lo_next)
        assert _limits(hi, pct)[0] <= hi_next < _limits(hi + 1, pct)[0]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32), st.sampled_from([5, 10, 20]), st.integers(50, 5000),
       st.integers(50, 5000), st.booleans())
def test_generated_stretch_obeys_limits_and_lands(
    seed: int, pct: int, origin: int, target: int, div: bool
) -> None:
    def one(value: float) -> np.ndarray:
        return np.array([value])

    spec = paths.PathSpec(level=one(800.0), sigma=one(0.03), jump_prob=one(0.05),
                          jump_size=one(pct / 100), suspend_prob=one(0.01))
    n = 243
    pcts = np.full((1, n), pct, dtype=np.int64)
    event = EventDraw(80, max(origin // 40, 1), 3 if seed % 3 == 0 else 0)
    dates = paths.ExDates(np.array([80] if div else [], dtype=np.int64),
                          np.array([event.cash]), np.array([event.bonus]), 10)
    got, halted = paths.generate(np.random.default_rng(seed), spec,
                                 (np.array([origin]), np.array([target])), pcts, dates)
    closes, suspended = got[0], halted[0]
    pre = np.concatenate(([origin], closes[:-1]))
    if div:
        pre[80] = paths.Ex(80, event, 10).pre(pre[80:81])[0]
    low, high = paths.limit_bounds(pre, pcts[0])
    assert ((closes >= low) & (closes <= high)).all()
    assert (closes[suspended] == pre[suspended]).all()
    assert closes[-1] == target
    assert (closes == high).any() or (closes == low).any()  # limit days exist


async def test_stretches_join_within_the_limits_across_years() -> None:
    clock = ManualClock(datetime(2026, 12, 31, 15, 0))
    data, _ = build_sim_backend(SimConfig(seed=3), [], clock)
    prices = data.market.prices
    last = prices.day_index(datetime(2026, 12, 31).date())
    assert last is not None
    for code in ("000001.XSHE", "600289.XSHG", "300750.XSHE", "510300.XSHG", "000300.XSHG"):
        security = parse_security(code)
        bars = prices.day_bars(security, 0, last)
        pre = np.array([prices.pre_close(security, i) for i in range(last + 1)])
        ex_days = {e.index for e in prices.ex_events(security, 0, last)}
        plain = np.array([i not in ex_days for i in range(1, last + 1)])
        assert (pre[1:][plain] == bars.close[:-1][plain]).all()  # incl. each Jan 1 join
        for i in range(last + 1):
            low, high = prices.limits(security, i, int(pre[i]))
            assert low <= bars.low[i] <= bars.high[i] <= high, (code, i)


@given(st.integers(0, 10**9), st.lists(st.floats(0.01, 10.0), min_size=1, max_size=50))
def test_allocate_is_exact(total: int, weights: list[float]) -> None:
    parts = allocate(total, np.asarray(weights))
    assert int(parts.sum()) == total and (parts >= 0).all()


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32))
def test_minutes_aggregate_exactly_into_the_daily_bar(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 20
    pre = rng.integers(300, 5000, n)
    low, high = paths.limit_bounds(pre, np.full(n, 10, dtype=np.int64))
    close = np.clip(np.rint(pre * np.exp(rng.normal(0, 0.06, n))), low, high).astype(np.int64)
    profile = Profile(level=10.0, sigma=0.03, jump_prob=0.0, daily_money=5e8)
    halted = rng.random(n) < 0.1
    days = daily_bars(rng, (pre, close, low, high), halted,
                      (profile.sigma, profile.daily_money), 0.01)
    for i in range(n):
        day = days.row(i)
        bars = minute_bars(rng, day, (int(low[i]), int(high[i])), profile.sigma)
        agg = bars.aggregate()
        for name in ("open", "high", "low", "close", "volume", "money"):
            assert int(getattr(agg, name)) == int(getattr(day, name)), name
        assert (bars.low <= np.minimum(bars.open, bars.close)).all()
        assert (bars.high >= np.maximum(bars.open, bars.close)).all()
        assert (bars.volume % 100 == 0).all()
        assert halted[i] or (bars.volume > 0).all()
