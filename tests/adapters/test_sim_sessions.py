"""Trading phases of the simulated exchange in ``real`` clock mode: call auctions, cancel
windows, market-order windows (dates in 2027, past the library calendar)."""

from __future__ import annotations

from datetime import datetime

import pytest

from bullet_trade.adapters.sim import build_sim_backend
from bullet_trade.adapters.sim.session import Phase, real_moment
from bullet_trade.config import SimConfig
from bullet_trade.model.calendar import TradingCalendar
from bullet_trade.model.clock import ManualClock
from bullet_trade.model.codes import parse_security
from bullet_trade.model.enums import OrderStatus, OrderType, Side
from bullet_trade.model.records import AccountConfig, PlaceOrder

DAY = datetime(2027, 3, 16)
PINGAN = parse_security("000001.XSHE")
ACCOUNTS = [AccountConfig(key="main", account_id="1")]


def _at(hh: int, mm: int) -> datetime:
    return DAY.replace(hour=hh, minute=mm)


@pytest.mark.parametrize(
    ("hh", "mm", "phase", "cancel"),
    [
        (9, 0, Phase.CLOSED, True),
        (9, 16, Phase.CALL_AUCTION, True),
        (9, 21, Phase.CALL_AUCTION, False),
        (9, 27, Phase.PRE_OPEN, True),
        (10, 0, Phase.CONTINUOUS, True),
        (12, 0, Phase.LUNCH, True),
        (14, 58, Phase.CLOSING_AUCTION, False),
        (15, 30, Phase.CLOSED, True),
    ],
)
def test_phases(hh: int, mm: int, phase: Phase, cancel: bool) -> None:
    moment = real_moment(_at(hh, mm), TradingCalendar())
    assert (moment.phase, moment.cancel_allowed) == (phase, cancel)
    assert moment.trading is (phase is Phase.CONTINUOUS)


def _limit(amount: int, price: float, side: Side = Side.BUY) -> PlaceOrder:
    return PlaceOrder(
        security=PINGAN, side=side, amount=amount, order_type=OrderType.LIMIT, price=price
    )


async def test_opening_auction_matches_at_the_open_and_blocks_cancels() -> None:
    clock = ManualClock(_at(9, 16))
    data, broker = build_sim_backend(SimConfig(clock_mode="real"), ACCOUNTS, clock)
    quote = await data.quote(PINGAN)
    refused = await broker.place_order("main", PlaceOrder(
        security=PINGAN, side=Side.BUY, amount=100, order_type=OrderType.MARKET))
    assert (refused.status, refused.reason) == (OrderStatus.REJECTED, "market_closed")
    buy = await broker.place_order("main", _limit(100, quote.high_limit))
    low = await broker.place_order("main", _limit(100, quote.low_limit))
    assert buy.status is OrderStatus.OPEN  # no matching before 09:25
    await clock.set(_at(9, 21))
    refused = await broker.cancel_order("main", low.order_id)
    assert not refused.accepted and refused.order is not None and refused.order.status.is_open
    await clock.set(_at(9, 25))
    assert await broker.match_now() == 1
    filled = await broker.order("main", buy.order_id)
    day_open = (await data.quote(PINGAN)).day_open
    assert filled is not None and filled.status is OrderStatus.FILLED
    assert filled.avg_fill_price == day_open
    assert await broker.match_now() == 0  # the auction runs once


async def test_closing_auction_matches_resting_orders_at_the_close() -> None:
    clock = ManualClock(_at(14, 57))
    data, broker = build_sim_backend(SimConfig(clock_mode="real"), ACCOUNTS, clock)
    quote = await data.quote(PINGAN)
    order = await broker.place_order("main", _limit(100, quote.high_limit))
    assert order.status is OrderStatus.OPEN
    assert not (await broker.cancel_order("main", order.order_id)).accepted
    await clock.set(_at(15, 0))
    assert await broker.match_now() == 1
    done = await broker.order("main", order.order_id)
    close = (await data.quote(PINGAN)).last_price
    assert done is not None and done.status is OrderStatus.FILLED
    assert done.avg_fill_price == close
