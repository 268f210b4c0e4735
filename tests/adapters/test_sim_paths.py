"""Vectorised price generation: settle equals the day-by-day rule; minute bars derived from a
daily bar aggregate exactly into it."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bullet_trade.adapters.sim import paths
from bullet_trade.adapters.sim.daily import daily_bars
from bullet_trade.adapters.sim.intraday import allocate, minute_bars
from bullet_trade.adapters.sim.universe import Profile


def _sequential(cand, up, down, halted, pct, origin):  # type: ignore[no-untyped-def]
    out, prev = [], origin
    for c, u, d, h, p in zip(cand, up, down, halted, pct, strict=True):
        low = max((prev * (100 - p) + 50) // 100, 1)
        high = (prev * (100 + p) + 50) // 100
        prev = prev if h else high if u else low if d else min(max(int(c), low), high)
        out.append(prev)
    return out


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32), st.sampled_from([5, 10, 20, 30]), st.integers(1, 5000))
def test_settle_equals_the_sequential_rule(seed: int, pct: int, origin: int) -> None:
    rng = np.random.default_rng(seed)
    n = 60
    cand = np.maximum(np.rint(origin * np.exp(np.cumsum(rng.normal(0, 0.08, n)))), 1)
    flags = rng.random((3, n)) < 0.15
    pcts = np.full(n, pct, dtype=np.int64)
    got = paths.settle(cand.astype(np.int64), flags[0], flags[1] & ~flags[0], flags[2],
                       pcts, origin)
    assert got.tolist() == _sequential(cand, flags[0], flags[1] & ~flags[0], flags[2], pcts,
                                       origin)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32), st.sampled_from([5, 10, 20]))
def test_generated_block_obeys_limits(seed: int, pct: int) -> None:
    spec = paths.PathSpec(level=800.0, sigma=0.03, jump_prob=0.05, jump_size=pct / 100,
                          suspend_prob=0.01)
    pcts = np.full(paths.PATH_BLOCK, pct, dtype=np.int64)
    block = paths.generate_block(np.random.default_rng(seed), spec, 800, pcts, True)
    pre = np.concatenate(([800], block.closes[:-1]))
    low, high = paths.limit_bounds(pre, pcts)
    assert ((block.closes >= low) & (block.closes <= high)).all()
    assert (block.closes[block.suspended] == pre[block.suspended]).all()
    assert (block.closes == high).any() and (block.closes == low).any()  # limit days exist


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
    days = daily_bars(rng, (pre, close, low, high), halted, profile, 0.01)
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
