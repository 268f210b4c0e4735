from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bullet_trade.model.codes import Security, parse_security
from bullet_trade.model.rules import (
    Board,
    FeeSchedule,
    board_of,
    is_on_tick,
    is_t0,
    is_tradable,
    is_valid_buy_amount,
    lot_rule,
    price_limits,
    protect_price,
    round_buy_amount,
    round_sell_amount,
    tick_size,
)

CODES = [
    "600000.XSHG",  # main
    "000001.XSHE",  # main
    "300750.XSHE",  # ChiNext
    "688981.XSHG",  # STAR
    "920001.BJSE",  # BSE
    "510300.XSHG",  # ETF
    "159915.XSHE",  # ETF
    "113050.XSHG",  # convertible bond
]
TRADABLE = [parse_security(c) for c in CODES]
securities = st.sampled_from(TRADABLE)


@pytest.mark.parametrize(
    ("code", "board"),
    [
        ("000001.XSHG", Board.INDEX),
        ("000001.XSHE", Board.MAIN),
        ("399001.XSHE", Board.INDEX),
        ("300750.XSHE", Board.CHINEXT),
        ("688981.XSHG", Board.STAR),
        ("510300.XSHG", Board.FUND),
        ("159915.XSHE", Board.FUND),
        ("113050.XSHG", Board.BOND),
        ("920001.BJ", Board.BSE),
    ],
)
def test_board_of(code: str, board: Board) -> None:
    assert board_of(parse_security(code)) is board


def test_tradable_and_t0() -> None:
    assert not is_tradable(parse_security("000300.XSHG"))
    assert is_tradable(parse_security("600000.XSHG"))
    assert is_t0(parse_security("113050.XSHG"))
    assert not is_t0(parse_security("600000.XSHG"))


def _valid_lot(security: Security, amount: int) -> bool:
    rule = lot_rule(security)
    return amount >= rule.min_lot and (amount - rule.min_lot) % rule.step == 0


@given(security=securities, raw=st.integers(min_value=0, max_value=2_000_000))
def test_round_buy_amount_is_valid_and_not_above_input(security: Security, raw: int) -> None:
    amount = round_buy_amount(security, raw)
    assert 0 <= amount <= raw
    assert amount == 0 or _valid_lot(security, amount)
    assert round_buy_amount(security, amount) == amount
    if amount:
        assert is_valid_buy_amount(security, amount)
        # it is the largest valid amount: one more step would exceed the input
        assert amount + lot_rule(security).step > raw


@given(
    security=securities,
    raw=st.integers(min_value=0, max_value=200_000),
    closeable=st.integers(min_value=0, max_value=200_000),
)
def test_round_sell_amount(security: Security, raw: int, closeable: int) -> None:
    amount = round_sell_amount(security, raw, closeable)
    assert 0 <= amount <= min(raw, closeable)
    if amount:
        assert amount == closeable or _valid_lot(security, amount)
    if raw >= closeable:
        assert amount == closeable  # selling everything is always allowed


def _on_tick_prices(security: Security) -> st.SearchStrategy[float]:
    tick = tick_size(security)
    decimals = 3 if tick < 0.01 else 2
    return st.integers(min_value=1, max_value=2_000_000).map(lambda n: round(n * tick, decimals))


@given(data=st.data(), security=securities)
def test_price_limits_contain_pre_close_and_are_on_tick(
    data: st.DataObject, security: Security
) -> None:
    pre_close = data.draw(_on_tick_prices(security))
    low, high = price_limits(security, pre_close)
    assert low <= pre_close <= high
    assert is_on_tick(security, low)
    assert is_on_tick(security, high)
    assert low >= tick_size(security)


@given(data=st.data(), security=securities, is_buy=st.booleans())
def test_protect_price_within_limits_and_on_tick(
    data: st.DataObject, security: Security, is_buy: bool
) -> None:
    pre_close = data.draw(_on_tick_prices(security))
    low, high = price_limits(security, pre_close)
    tick = tick_size(security)
    steps = round((high - low) / tick)
    last = round(low + data.draw(st.integers(min_value=0, max_value=steps)) * tick, 3)
    price = protect_price(security, last, is_buy=is_buy, low_limit=low, high_limit=high)
    assert low <= price <= high
    assert is_on_tick(security, price)
    if is_buy:
        assert price >= last - 1e-9
    else:
        assert price <= last + 1e-9


@given(
    security=securities,
    turnover=st.floats(min_value=0.01, max_value=1e9, allow_nan=False),
    is_buy=st.booleans(),
)
def test_fees(security: Security, turnover: float, is_buy: bool) -> None:
    fees = FeeSchedule()
    assert fees.commission(turnover) >= 5.0
    tax = fees.tax(security, turnover, is_buy=is_buy)
    assert tax >= 0
    if board_of(security) in (Board.FUND, Board.BOND):
        assert tax == 0
    elif not is_buy:
        assert tax >= fees.tax(security, turnover, is_buy=True)


def test_fees_examples() -> None:
    fees = FeeSchedule()
    stock = parse_security("600000.XSHG")
    assert fees.commission(10_000) == 5.0
    assert fees.commission(100_000) == 25.0
    assert fees.commission(0) == 0.0
    assert fees.tax(stock, 100_000, is_buy=False) == 51.0  # 0.05 % duty + 0.001 % transfer
    assert fees.tax(stock, 100_000, is_buy=True) == 1.0
