from datetime import datetime

import pytest

from bullet_trade.jq.objects import LimitOrderStyle, MarketOrderStyle
from bullet_trade.live.planner import (
    Holding,
    IntentKind,
    OrderIntent,
    Planned,
    Refused,
    Skipped,
    plan_order,
)
from bullet_trade.model import rules
from bullet_trade.model.codes import parse_security
from bullet_trade.model.enums import OrderType, Side
from bullet_trade.model.records import Quote

NOW = datetime(2025, 4, 29, 10, 0)


def quote(code: str, last: float, *, paused: bool = False) -> Quote:
    sec = parse_security(code)
    low, high = rules.price_limits(sec, last) if last > 0 else (0.0, 0.0)
    return Quote(security=sec, last_price=last, dt=NOW, high_limit=high, low_limit=low,
                 pre_close=last, day_open=last, high=last, low=last, paused=paused)


def plan(code: str, kind: IntentKind, qty: float, last: float = 10.0,
         holding: Holding | None = None, style=None, paused: bool = False):
    intent = OrderIntent(parse_security(code), kind, qty, style)
    return plan_order(intent, quote(code, last, paused=paused), holding or Holding())


def amount_of(result) -> int:
    assert isinstance(result, Planned), result
    return result.command.amount


@pytest.mark.parametrize(("code", "raw", "expected"), [
    ("688001.XSHG", 250, 250), ("688001.XSHG", 200, 200), ("688001.XSHG", 201, 201),
    ("000001.XSHE", 150, 100), ("000001.XSHE", 100, 100), ("510300.XSHG", 1999, 1900),
    ("830799.BJSE", 101, 101), ("113050.XSHG", 25, 20),
])
def test_buy_lot_rounding(code: str, raw: int, expected: int) -> None:
    assert amount_of(plan(code, IntentKind.AMOUNT, raw)) == expected


@pytest.mark.parametrize(("code", "raw"), [("688001.XSHG", 199), ("000001.XSHE", 99)])
def test_buy_below_min_lot_is_a_no_op(code: str, raw: int) -> None:
    assert isinstance(plan(code, IntentKind.AMOUNT, raw), Skipped)


def test_sell_all_includes_odd_lot() -> None:
    held = Holding(total=150, closeable=150)
    assert amount_of(plan("000001.XSHE", IntentKind.AMOUNT, -150, holding=held)) == 150
    assert amount_of(plan("000001.XSHE", IntentKind.TARGET, 0, holding=held)) == 150
    assert amount_of(plan("000001.XSHE", IntentKind.AMOUNT, -120, holding=held)) == 100


def test_sell_limited_to_closeable_without_fallback_to_total() -> None:
    part = Holding(total=300, closeable=100)
    result = plan("000001.XSHE", IntentKind.AMOUNT, -300, holding=part)
    assert amount_of(result) == 100
    assert result.command.side is Side.SELL
    bought_today = Holding(total=300, closeable=0)
    refused = plan("000001.XSHE", IntentKind.AMOUNT, -100, holding=bought_today)
    assert isinstance(refused, Refused) and "closeable" in refused.reason
    assert isinstance(plan("000001.XSHE", IntentKind.AMOUNT, -100), Refused)


def test_star_sell_steps_of_one() -> None:
    held = Holding(total=450, closeable=450)
    assert amount_of(plan("688001.XSHG", IntentKind.AMOUNT, -201, holding=held)) == 201
    assert isinstance(plan("688001.XSHG", IntentKind.AMOUNT, -150, holding=held), Skipped)


def test_paused_and_no_price_are_refused() -> None:
    assert isinstance(plan("000001.XSHE", IntentKind.AMOUNT, 100, paused=True), Refused)
    assert isinstance(plan("000001.XSHE", IntentKind.AMOUNT, 100, last=0.0), Refused)
    assert isinstance(plan("000300.XSHG", IntentKind.AMOUNT, 100), Refused)  # index


def test_market_order_gets_protective_price() -> None:
    result = plan("000001.XSHE", IntentKind.AMOUNT, 100, last=10.0)
    assert isinstance(result, Planned)
    cmd = result.command
    assert cmd.order_type is OrderType.MARKET
    assert cmd.price == rules.protect_price(cmd.security, 10.0, is_buy=True, low_limit=9.0,
                                            high_limit=11.0) == 10.15
    sell = plan("000001.XSHE", IntentKind.AMOUNT, -100, holding=Holding(100, 100),
                style=MarketOrderStyle(sell_price_percent=0.01))
    assert sell.command.price == 9.9


def test_limit_price_rounded_to_tick_and_clamped() -> None:
    etf = plan("510300.XSHG", IntentKind.AMOUNT, 100, last=4.0, style=LimitOrderStyle(4.00849))
    assert etf.command.order_type is OrderType.LIMIT and etf.command.price == 4.008
    stock = plan("000001.XSHE", IntentKind.AMOUNT, 100, last=10.0, style=LimitOrderStyle(10.005))
    assert stock.command.price == 10.01
    high = plan("000001.XSHE", IntentKind.AMOUNT, 100, last=10.0, style=LimitOrderStyle(12.5))
    assert high.command.price == 11.0
    low = plan("000001.XSHE", IntentKind.AMOUNT, -100, last=10.0, holding=Holding(100, 100),
               style=LimitOrderStyle(1.0))
    assert low.command.price == 9.0


def test_value_and_target_orders() -> None:
    assert amount_of(plan("518880.XSHG", IntentKind.VALUE, 5000, last=5.0)) == 1000
    assert amount_of(plan("518880.XSHG", IntentKind.VALUE, 5000, last=5.3)) == 900
    held = Holding(total=500, closeable=500)
    assert amount_of(plan("000001.XSHE", IntentKind.TARGET, 800, holding=held)) == 300
    res = plan("000001.XSHE", IntentKind.TARGET_VALUE, 2000, last=10.0, holding=held)
    assert amount_of(res) == 300 and res.command.side is Side.SELL
    assert isinstance(plan("000001.XSHE", IntentKind.TARGET, 500, holding=held), Skipped)
    # value computed at the limit price of a limit order
    lim = plan("000001.XSHE", IntentKind.VALUE, 2000, last=10.0, style=LimitOrderStyle(9.5))
    assert amount_of(lim) == 200
