"""Fund product table, ST limits, price cage, exact half-tick limits."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bullet_trade.model.codes import parse_security
from bullet_trade.model.rules import (
    ST_LIMIT_CHANGE,
    FundKind,
    fund_kind,
    has_price_cage,
    in_price_cage,
    is_t0,
    limit_ratio,
    price_limits,
)


@pytest.mark.parametrize(
    ("code", "ratio", "t0"),
    [
        ("159915.XSHE", 0.20, False),  # ChiNext ETF
        ("588000.XSHG", 0.20, False),  # STAR 50 ETF
        ("588123.XSHG", 0.20, False),  # any STAR ETF (prefix)
        ("510300.XSHG", 0.10, False),
        ("518880.XSHG", 0.10, True),  # gold
        ("511010.XSHG", 0.10, True),  # bond ETF
        ("511880.XSHG", 0.10, True),  # money market
        ("513100.XSHG", 0.10, True),  # cross-border
        ("159920.XSHE", 0.10, True),  # cross-border (table)
        ("113050.XSHG", 0.20, True),  # convertible bond
        ("600000.XSHG", 0.10, False),
        ("920001.BJSE", 0.30, False),
    ],
)
def test_product_table(code: str, ratio: float, t0: bool) -> None:
    security = parse_security(code)
    assert limit_ratio(security) == ratio
    assert is_t0(security) is t0


def test_fund_kind_only_for_funds() -> None:
    assert fund_kind(parse_security("518880.XSHG")) is FundKind.GOLD
    assert fund_kind(parse_security("600000.XSHG")) is None
    assert fund_kind(parse_security("510300.XSHG")) is None


def test_st_limit_is_date_dependent() -> None:
    main = parse_security("600289.XSHG")
    before = date(2025, 7, 4)
    assert limit_ratio(main, is_st=True, on=before) == 0.05
    assert limit_ratio(main, is_st=True, on=ST_LIMIT_CHANGE) == 0.10
    assert limit_ratio(parse_security("300023.XSHE"), is_st=True, on=before) == 0.20
    assert price_limits(main, 10.0, is_st=True, on=before) == (9.5, 10.5)


def test_half_tick_limits_round_up_exactly() -> None:
    # 10.05 * 1.1 = 11.055 exactly: half-up gives 11.06 (a float product would say 11.055000..1)
    assert price_limits(parse_security("600000.XSHG"), 10.05) == (9.05, 11.06)
    assert price_limits(parse_security("600000.XSHG"), 1.15) == (1.04, 1.27)


def test_cage_boards() -> None:
    assert has_price_cage(parse_security("600000.XSHG"))
    assert has_price_cage(parse_security("300750.XSHE"))
    assert not has_price_cage(parse_security("510300.XSHG"))


@given(st.integers(min_value=1, max_value=10**7))
def test_price_cage_bounds(benchmark: int) -> None:
    """The widest buy in the cage is max(102 %, +10 ticks), the lowest sell min(98 %, -10)."""
    top = max(benchmark * 102 // 100, benchmark + 10)
    assert in_price_cage(top, benchmark, is_buy=True)
    assert not in_price_cage(top + 1, benchmark, is_buy=True)
    bottom = min(-(-benchmark * 98 // 100), benchmark - 10)
    assert in_price_cage(bottom, benchmark, is_buy=False)
    assert not in_price_cage(bottom - 1, benchmark, is_buy=False)
    assert in_price_cage(benchmark, benchmark, is_buy=True)
    assert in_price_cage(benchmark, benchmark, is_buy=False)
