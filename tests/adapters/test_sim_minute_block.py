"""The vectorised minute path equals the reference one: ``minute_block`` row by row is
``intraday.minute_bars`` bit for bit (sealed limit days included), and the cache's cohort batch
returns exactly what one-code generation returns."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bullet_trade.adapters.sim import minute_store
from bullet_trade.adapters.sim.intraday import BarArrays, allocate, minute_bars
from bullet_trade.adapters.sim.minute_block import DRAWS, allocate_rows, minute_block
from bullet_trade.adapters.sim.prices import PriceModel, limits_in_ticks
from bullet_trade.adapters.sim.stretch import cohort_of
from bullet_trade.adapters.sim.universe import generator
from bullet_trade.model.calendar import TradingCalendar
from bullet_trade.model.codes import Security, parse_security

_FIELDS = ("open", "high", "low", "close", "volume", "money")
CALENDAR = TradingCalendar()


@st.composite
def _days(draw: st.DrawFn) -> tuple[int, BarArrays, tuple[int, int], float]:
    """(generator seed, daily bar, limits, sigma) of a consistent day with volume; the close
    is often at a limit, so sealed days are common."""
    pre = draw(st.integers(10, 200_000))
    low_limit, high_limit = limits_in_ticks(parse_security("600000.XSHG"), pre,
                                            draw(st.sampled_from([0.05, 0.1, 0.2, 0.3])))
    price = st.integers(low_limit, high_limit)
    close = draw(st.one_of(st.sampled_from([low_limit, high_limit]), price))
    day_open = draw(st.one_of(st.just(close), price))
    high = draw(st.integers(max(day_open, close), high_limit))
    low = draw(st.integers(low_limit, min(day_open, close)))
    volume = 100 * draw(st.integers(240, 10**7))
    money = draw(st.integers(1, 10**13))
    day = BarArrays(*(np.int64(v) for v in (day_open, high, low, close, volume, money)))
    sigma = draw(st.sampled_from([0.012, 0.02, 0.028]))
    return draw(st.integers(0, 2**63)), day, (low_limit, high_limit), sigma


def _same(a: BarArrays, b: BarArrays) -> bool:
    return all(np.array_equal(getattr(a, f), getattr(b, f)) and getattr(a, f).dtype == np.int64
               for f in _FIELDS)


@settings(max_examples=150, deadline=None)
@given(st.lists(_days(), min_size=1, max_size=6))
def test_minute_block_equals_minute_bars_row_by_row(days: list) -> None:  # type: ignore[type-arg]
    u = np.array([np.random.default_rng(seed).random(DRAWS) for seed, *_ in days])
    day = BarArrays(*(np.array([getattr(d[1], f) for d in days], dtype=np.int64)
                      for f in _FIELDS))
    limits = (np.array([d[2][0] for d in days]), np.array([d[2][1] for d in days]))
    block = minute_block(u, day, limits, np.array([d[3] for d in days]))
    for row, (seed, one, lim, sigma) in enumerate(days):
        expected = minute_bars(np.random.default_rng(seed), one, lim, sigma)
        assert _same(block.row(row), expected)


@given(st.lists(st.tuples(st.integers(0, 10**12), st.lists(st.floats(0.01, 1e6), min_size=240,
                                                           max_size=240)),
                min_size=1, max_size=4))
def test_allocate_rows_equals_allocate(rows: list[tuple[int, list[float]]]) -> None:
    weights = np.array([w for _, w in rows])
    parts = allocate_rows(np.array([t for t, _ in rows], dtype=np.int64), weights)
    for i, (total, w) in enumerate(rows):
        assert np.array_equal(parts[i], allocate(total, np.asarray(w)))


def _reference(model: PriceModel, security: Security, index: int) -> BarArrays:
    day, limits, sigma = model._minute_inputs(security, index)
    return minute_bars(generator(model.seed, security.jq, "minute", index), day, limits, sigma)


@settings(max_examples=10, deadline=None)
@given(st.sampled_from(["600100.XSHG", "300700.XSHE", "688000.XSHG", "510300.XSHG",
                        "000001.XSHE", "920100.BJSE"]),
       st.integers(0, 2900), st.integers(0, 2**16))
def test_cohort_batch_equals_one_code_generation(code: str, index: int, seed: int) -> None:
    model, fresh = PriceModel(seed, CALENDAR), PriceModel(seed, CALENDAR)
    members = cohort_of(parse_security(code))
    for member in members:  # the batch starts after BATCH_AFTER misses
        assert _same(model.minute_bars(member, index), _reference(fresh, member, index))


def test_a_few_codes_of_a_cohort_are_generated_alone() -> None:
    model = PriceModel(7, CALENDAR)
    members = cohort_of(parse_security("600000.XSHG"))[: minute_store.BATCH_AFTER - 1]
    for member in members:
        model.minute_bars(member, 2500)
    assert len(model._minutes._cache) == len(members)
    model.minute_bars(cohort_of(members[0])[minute_store.BATCH_AFTER], 2500)
    assert len(model._minutes._cache) == len(cohort_of(members[0]))
