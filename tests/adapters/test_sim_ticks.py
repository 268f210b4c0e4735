"""3-second ticks agree with the minute bars; quotes move tick by tick; limit-up queueing."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta

import numpy as np

from bullet_trade.adapters.sim import build_sim_backend
from bullet_trade.adapters.sim.ticks import TICKS_PER_BAR
from bullet_trade.config import SimConfig
from bullet_trade.model.clock import ManualClock
from bullet_trade.model.codes import Security, parse_security
from bullet_trade.model.enums import OrderType, Side
from bullet_trade.model.records import AccountConfig, PlaceOrder, Quote

DAY = date(2026, 3, 18)
PINGAN = parse_security("000001.XSHE")
ACCOUNTS = [AccountConfig(key="main", account_id="1")]


def at_bar(bar: int, second: int = 0, day: date = DAY) -> datetime:
    """Always-open clock time at which the market stands at the end of ``bar``."""
    return datetime(day.year, day.month, day.day, bar // 60, bar % 60, second)


def backend(now: datetime, **config: object):  # type: ignore[no-untyped-def]
    clock = ManualClock(now)
    data, broker = build_sim_backend(SimConfig(**config), ACCOUNTS, clock)  # type: ignore[arg-type]
    return data, broker, clock


def test_ticks_agree_with_their_minute_bar() -> None:
    data, _, _ = backend(at_bar(0))
    prices = data.market.prices
    index = prices.day_index(DAY)
    assert index is not None
    for code in ("000001.XSHE", "600519.XSHG", "688981.XSHG", "510300.XSHG", "300750.XSHE"):
        security = parse_security(code)
        minutes = prices.minute_bars(security, index)
        for bar in (0, 1, 57, 119, 120, 200, 239):
            ticks = prices.ticks(security, index, bar)
            assert len(ticks.price) == TICKS_PER_BAR
            assert ticks.price[-1] == minutes.close[bar]
            assert ticks.price.max() == minutes.high[bar]
            assert ticks.price.min() == minutes.low[bar]
            assert ticks.volume.sum() == minutes.volume[bar]
            assert np.all(ticks.volume % 100 == 0) and np.all(ticks.volume >= 0)
    again, _, _ = backend(at_bar(5))
    other = again.market.prices.ticks(PINGAN, index, 57)
    same = prices.ticks(PINGAN, index, 57)
    assert np.array_equal(other.price, same.price) and np.array_equal(other.volume, same.volume)


async def test_quote_moves_tick_by_tick_within_the_minute() -> None:
    data, _, clock = backend(at_bar(100))
    prices = data.market.prices
    index = prices.day_index(DAY)
    assert index is not None
    bars = prices.minute_bars(PINGAN, index)
    ticks = prices.ticks(PINGAN, index, 101)
    whole = await data.quote(PINGAN)
    assert whole.last_price == prices.to_price(PINGAN, bars.close[100])
    await clock.set(at_bar(100, 30))  # 10 ticks into bar 101
    mid = await data.quote(PINGAN)
    assert mid.last_price == prices.to_price(PINGAN, ticks.price[9])
    assert mid.volume == whole.volume + int(ticks.volume[:10].sum())
    assert mid.high >= whole.high and mid.low <= whole.low
    assert len(mid.asks) == 5 and mid.asks[0][0] > mid.last_price
    await clock.set(at_bar(101))  # the minute completed: its close is the last tick
    done = await data.quote(PINGAN)
    assert done.last_price == prices.to_price(PINGAN, ticks.price[-1])
    assert done.volume == whole.volume + int(ticks.volume.sum())


async def test_subscription_pushes_every_tick_interval_of_clock_time() -> None:
    data, _, clock = backend(at_bar(100), tick_interval=3.0)
    got: list[Quote] = []
    arrived = asyncio.Event()

    def listener(quote: Quote) -> None:
        got.append(quote)
        arrived.set()

    stop = await data.subscribe_quotes([PINGAN], listener)
    for second in (0, 3, 6, 9):
        if second:
            arrived.clear()
            await clock.set(at_bar(100, second))
        await asyncio.wait_for(arrived.wait(), 2.0)
    stop()
    await data.close()
    assert len(got) == 4
    prices = data.market.prices
    index = prices.day_index(DAY)
    assert index is not None
    ticks = prices.ticks(PINGAN, index, 101)
    assert [q.last_price for q in got[1:]] == [prices.to_price(PINGAN, p) for p in ticks.price[:3]]


def _sealed_limit_up() -> tuple[Security, int]:
    """A synthetic code and a bar of DAY at which it stands sealed at its limit-up."""
    data, _, _ = backend(at_bar(0))
    prices = data.market.prices
    index = prices.day_index(DAY)
    assert index is not None
    for n in range(2000):
        security = parse_security(f"{600000 + n:06d}.XSHG")
        pre = prices.pre_close(security, index)
        high = prices.limits(security, index, pre)[1]
        if prices.is_suspended(security, index) or prices.close(security, index) != high:
            continue
        closes = prices.minute_bars(security, index).close
        sealed = np.flatnonzero(closes[:-1] == high)
        if len(sealed) > 5:
            return security, int(sealed[len(sealed) // 2])
    raise AssertionError("no sealed limit-up day found")


async def test_buy_at_limit_up_queues_for_a_small_share() -> None:
    security, bar = _sealed_limit_up()
    data, broker, clock = backend(at_bar(bar), fill_ratio=0.5, initial_cash=1e10)
    quote = await data.quote(security)
    assert quote.last_price == quote.high_limit
    order = await broker.place_order("main", PlaceOrder(
        security=security, side=Side.BUY, amount=1_000_000, order_type=OrderType.LIMIT,
        price=quote.high_limit,
    ))  # fmt: skip
    index = data.market.prices.day_index(DAY)
    assert index is not None
    volume = int(data.market.prices.minute_bars(security, index).volume[bar])
    assert order.filled == max(100, int(volume * 0.02) // 100 * 100)  # not half the volume
    await clock.advance(timedelta(minutes=1))
    await broker.match_now()
    after = await broker.order("main", order.order_id)
    assert after is not None and after.filled > order.filled  # keeps queueing, bit by bit
