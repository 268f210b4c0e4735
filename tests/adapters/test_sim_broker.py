from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from bullet_trade.adapters.contracts import Broker
from bullet_trade.adapters.sim import SimBrokerAdapter, SimDataAdapter, build_sim_backend
from bullet_trade.config import SimConfig
from bullet_trade.errors import OrderRejected, UnknownAccount
from bullet_trade.model.clock import ManualClock
from bullet_trade.model.codes import Security, parse_security
from bullet_trade.model.enums import OrderStatus, OrderType, Side
from bullet_trade.model.records import (
    AccountChanged,
    AccountConfig,
    BrokerEvent,
    Order,
    OrderUpdated,
    PlaceOrder,
    TradeExecuted,
)
from bullet_trade.model.rules import tick_size

WEDNESDAY = datetime(2026, 3, 18, 10, 15)
THURSDAY = datetime(2026, 3, 19, 10, 15)
PINGAN = parse_security("000001.XSHE")
PUFA = parse_security("600000.XSHG")
STAR = parse_security("688981.XSHG")
BOND = parse_security("113050.XSHG")
CSI300 = parse_security("000300.XSHG")
ACCOUNTS = [AccountConfig(key="main", account_id="1"), AccountConfig(key="alt", account_id="2")]
CASH = 1_000_000.0


@dataclass
class Sim:
    data: SimDataAdapter
    broker: SimBrokerAdapter
    clock: ManualClock
    events: list[BrokerEvent] = field(default_factory=list)

    async def last(self, security: Security) -> float:
        return (await self.data.quote(security)).last_price

    async def buy(
        self, security: Security, amount: int, price: float | None = None, account: str = "main"
    ) -> Order:
        style = OrderType.MARKET if price is None else OrderType.LIMIT
        command = PlaceOrder(
            security=security, side=Side.BUY, amount=amount, order_type=style, price=price
        )
        return await self.broker.place_order(account, command)

    async def sell(
        self, security: Security, amount: int, price: float | None = None, account: str = "main"
    ) -> Order:
        style = OrderType.MARKET if price is None else OrderType.LIMIT
        command = PlaceOrder(
            security=security, side=Side.SELL, amount=amount, order_type=style, price=price
        )
        return await self.broker.place_order(account, command)

    def kinds(self) -> list[str]:
        return [type(e).__name__ for e in self.events]


def make(now: datetime = WEDNESDAY, **config: object) -> Sim:
    clock = ManualClock(now)
    data, broker = build_sim_backend(SimConfig(**config), ACCOUNTS, clock)  # type: ignore[arg-type]
    sim = Sim(data, broker, clock)
    broker.add_listener(sim.events.append)
    return sim


async def total_cash(sim: Sim, account: str = "main") -> float:
    snap = await sim.broker.account(account)
    return round(snap.available_cash + snap.frozen_cash, 2)


async def test_is_a_broker() -> None:
    sim = make()
    assert isinstance(sim.broker, Broker)
    assert [a.key for a in sim.broker.accounts()] == ["main", "alt"]


def _walk(levels: tuple[tuple[float, int], ...], amount: int) -> list[tuple[float, int]]:
    """Expected fills of a market order of ``amount`` against ``levels`` (best first)."""
    fills = []
    for price, volume in levels:
        take = min(volume, amount)
        if take:
            fills.append((price, take))
            amount -= take
    return fills


async def test_market_buy_walks_the_ask_side_of_the_book() -> None:
    sim = make()
    quote = await sim.data.quote(PINGAN)
    assert len(quote.asks) == 5 and quote.asks[0][0] == round(quote.last_price + 0.01, 2)
    amount = quote.asks[0][1] + 100  # one level and a lot of the next
    order = await sim.buy(PINGAN, amount)
    assert order.order_id == "sim-main-1"
    assert (order.status, order.raw_status) == (OrderStatus.FILLED, 56)
    trades = await sim.broker.trades("main")
    assert [(t.price, t.amount) for t in trades] == _walk(quote.asks, amount)
    assert trades[0].commission >= 5.0
    turnover = sum(t.price * t.amount for t in trades)
    assert order.avg_fill_price == round(turnover / amount, 4)
    fees = sum(t.commission + t.tax for t in trades)
    snap = await sim.broker.account("main")
    assert snap.available_cash == round(CASH - turnover - fees, 2)
    assert snap.frozen_cash == 0
    (position,) = snap.positions
    assert (position.amount, position.closeable_amount) == (amount, 0)  # T+1
    assert position.avg_cost == round(turnover / amount, 4) and position.name == "平安银行"


async def test_market_order_rest_is_canceled_after_the_best_five() -> None:
    sim = make(initial_cash=1e9)
    quote = await sim.data.quote(PINGAN)
    depth = sum(v for _, v in quote.asks)
    protect = max(p for p, _ in quote.asks)  # the default protection reaches every level
    order = await sim.buy(PINGAN, depth + 10_000)
    assert (order.status, order.raw_status) == (OrderStatus.PARTLY_CANCELED, 53)
    assert order.filled == depth and order.order_price >= protect
    snap = await sim.broker.account("main")
    assert snap.frozen_cash == 0  # the canceled rest's cash is released
    again = await sim.buy(PINGAN, 100)  # the book was taken in this interval
    assert (again.status, again.raw_status) == (OrderStatus.CANCELED, 54)


async def test_market_order_with_a_protect_price_rests_as_a_limit_order() -> None:
    sim = make(initial_cash=1e9)
    quote = await sim.data.quote(PINGAN)
    ask1, volume = quote.asks[0]
    command = PlaceOrder(security=PINGAN, side=Side.BUY, amount=volume + 5000,
                         order_type=OrderType.MARKET, price=ask1)
    order = await sim.broker.place_order("main", command)
    assert (order.status, order.raw_status) == (OrderStatus.FILLING, 55)
    assert order.filled == volume and order.order_price == ask1  # only the first level


async def test_market_sell_walks_the_bids_and_the_book_follows_the_ticks() -> None:
    sim = make(fill_ratio=1.0)
    await sim.buy(PINGAN, 300, price=(await sim.data.quote(PINGAN)).high_limit)
    await sim.clock.set(THURSDAY)
    quote = await sim.data.quote(PINGAN)
    assert [p for p, _ in quote.bids] == [round(quote.last_price - 0.01 * i, 2) for i in range(5)]
    market = sim.data.market
    state = market.day_state(PINGAN)
    bar = market.prices.ticks(PINGAN, state.index, len(state.bars.close) - 1)  # type: ignore[union-attr]
    recent = list(bar.volume)
    assert [v for _, v in quote.bids] == [max(100, v // 100 * 100) for v in recent[::-1][0::2][:5]]
    assert [v for _, v in quote.asks] == [max(100, v // 100 * 100) for v in recent[::-1][1::2][:5]]
    order = await sim.sell(PINGAN, 300)
    trades = [t for t in await sim.broker.trades("main") if t.order_id == order.order_id]
    assert [(t.price, t.amount) for t in trades] == _walk(quote.bids, 300)


async def test_listener_events_in_order() -> None:
    sim = make()
    seen: list[BrokerEvent] = []
    sim.broker.add_listener(lambda e: (_ for _ in ()).throw(RuntimeError("boom")))
    sim.broker.add_listener(seen.append)
    await sim.buy(PINGAN, 500)
    assert sim.kinds() == [
        "OrderUpdated",
        "AccountChanged",
        "TradeExecuted",
        "OrderUpdated",
        "AccountChanged",
    ]
    assert seen == sim.events  # a failing listener does not stop the others
    first, _, trade, filled, account = sim.events
    assert isinstance(first, OrderUpdated) and first.order.raw_status == 50
    assert isinstance(trade, TradeExecuted) and trade.trade.amount == 500
    assert isinstance(filled, OrderUpdated) and filled.order.raw_status == 56
    assert isinstance(account, AccountChanged) and account.account.positions[0].amount == 500


async def test_resting_limit_order_and_cancel() -> None:
    sim = make()
    quote = await sim.data.quote(PINGAN)
    order = await sim.buy(PINGAN, 1000, price=quote.low_limit)
    assert (order.status, order.raw_status) == (OrderStatus.OPEN, 50)
    snap = await sim.broker.account("main")
    assert snap.frozen_cash >= 1000 * quote.low_limit
    assert await total_cash(sim) == CASH
    assert await sim.broker.match_now() == 0
    sim.events.clear()
    result = await sim.broker.cancel_order("main", order.order_id)
    assert result.accepted and result.order is not None
    assert (result.order.status, result.order.raw_status) == (OrderStatus.CANCELED, 54)
    snap = await sim.broker.account("main")
    assert (snap.available_cash, snap.frozen_cash) == (CASH, 0)
    assert sim.kinds() == ["OrderUpdated", "AccountChanged"]
    again = await sim.broker.cancel_order("main", order.order_id)
    assert not again.accepted and again.order is not None
    assert again.order.status is OrderStatus.CANCELED
    unknown = await sim.broker.cancel_order("main", "sim-main-999")
    assert unknown.accepted is False and unknown.order is None
    assert await sim.broker.order("main", "nope") is None
    assert (await sim.broker.order("main", order.order_id)) == again.order


async def test_marketable_limit_fills_at_last() -> None:
    sim = make()
    quote = await sim.data.quote(PUFA)
    price = round(quote.last_price + 0.1, 2)  # inside the price cage (+10 ticks)
    order = await sim.buy(PUFA, 300, price=price)
    assert order.status is OrderStatus.FILLED and order.avg_fill_price == quote.last_price
    assert order.order_price == price


async def test_price_cage_sh_rejects_sz_accepts() -> None:
    sim = make()
    sh = await sim.data.quote(PUFA)
    cash = await sim.broker.account("main")
    refused = await sim.buy(PUFA, 100, price=sh.high_limit)  # the exchange refuses it later
    assert (refused.status, refused.raw_status) == (OrderStatus.REJECTED, 57)
    assert refused.reason == "outside_price_cage"
    assert refused.status_msg.startswith("outside_price_cage: ")
    assert sim.events[-1] == OrderUpdated(order=refused)
    assert await sim.broker.account("main") == cash  # nothing frozen
    assert await sim.broker.order("main", refused.order_id) == refused
    sz = await sim.data.quote(PINGAN)
    assert (await sim.buy(PINGAN, 100, price=sz.high_limit)).filled == 100
    etf = parse_security("510300.XSHG")  # funds have no cage
    assert (await sim.buy(etf, 100, price=(await sim.data.quote(etf)).high_limit)).filled == 100


async def test_resting_order_fills_when_price_comes() -> None:
    sim = make()
    # a second backend with the same seed is an oracle of the coming prices
    oracle = make()
    now = await sim.last(PINGAN)
    minutes = 0
    future = now
    while future >= now:
        minutes += 1
        assert minutes < 120, "price never dropped in two hours"
        await oracle.clock.advance(timedelta(minutes=1))
        future = await oracle.last(PINGAN)
    order = await sim.buy(PINGAN, 200, price=future)
    assert order.status is OrderStatus.OPEN
    await sim.clock.advance(timedelta(minutes=minutes))
    assert await sim.broker.match_now() == 1
    filled = await sim.broker.order("main", order.order_id)
    assert filled is not None and filled.status is OrderStatus.FILLED
    assert filled.avg_fill_price == future
    assert (await sim.broker.account("main")).frozen_cash == 0


async def test_partial_fills_then_partly_canceled() -> None:
    sim = make(fill_ratio=1e-9)  # 100 shares per security and minute bar
    high = (await sim.data.quote(PINGAN)).high_limit
    order = await sim.buy(PINGAN, 500, price=high)
    assert (order.status, order.raw_status, order.filled) == (OrderStatus.FILLING, 55, 100)
    assert await sim.broker.match_now() == 0  # this bar's volume is used up
    await sim.clock.advance(timedelta(minutes=1))
    assert await sim.broker.match_now() == 1
    current = await sim.broker.order("main", order.order_id)
    assert current is not None and current.filled == 200
    result = await sim.broker.cancel_order("main", order.order_id)
    assert result.accepted and result.order is not None
    assert (result.order.status, result.order.raw_status) == (OrderStatus.PARTLY_CANCELED, 53)
    snap = await sim.broker.account("main")
    assert snap.frozen_cash == 0
    trades = await sim.broker.trades("main")
    spent = sum(t.amount * t.price + t.commission + t.tax for t in trades)
    assert snap.available_cash == pytest.approx(CASH - spent, abs=0.011)
    assert sum(t.commission for t in trades) == 5.0  # minimum once per order


async def _rejected(coro: object) -> OrderRejected:
    with pytest.raises(OrderRejected) as info:
        await coro  # type: ignore[misc]
    return info.value


async def test_rejections_record_nothing() -> None:
    sim = make()
    quote = await sim.data.quote(PINGAN)
    cases = [
        (sim.buy(CSI300, 100), "not_tradable"),
        (sim.buy(PINGAN, 150), "bad_lot"),
        (sim.buy(STAR, 100), "bad_lot"),
        (sim.buy(PINGAN, 100, price=round(quote.last_price + 0.005, 3)), "bad_tick"),
        (sim.buy(PINGAN, 100, price=round(quote.high_limit + 0.01, 2)), "price_outside_limit"),
        (sim.buy(PINGAN, 100, price=round(quote.low_limit - 0.01, 2)), "price_outside_limit"),
        (sim.buy(PINGAN, 1_000_000), "insufficient_cash"),
        (sim.sell(PINGAN, 100), "insufficient_position"),
    ]
    for coro, reason in cases:
        assert (await _rejected(coro)).reason == reason
    assert await sim.broker.orders("main") == []
    assert (await sim.broker.account("main")).available_cash == CASH
    assert sim.events == []


async def test_star_lot_rules() -> None:
    sim = make()
    order = await sim.buy(STAR, 201)
    assert order.status is OrderStatus.FILLED


async def test_suspended() -> None:
    sim = make()
    sim.data.market.suspend(PINGAN)
    assert (await sim.data.quote(PINGAN)).paused
    assert (await _rejected(sim.buy(PINGAN, 100))).reason == "suspended"
    sim.data.market.resume(PINGAN)
    assert (await sim.buy(PINGAN, 100)).status is OrderStatus.FILLED


async def test_suspended_from_config() -> None:
    sim = make(suspended=("600000.SH",))
    assert (await _rejected(sim.buy(PUFA, 100))).reason == "suspended"


async def test_t_plus_one_and_sell_rules() -> None:
    sim = make()
    await sim.buy(PINGAN, 1000)
    assert (await _rejected(sim.sell(PINGAN, 1000))).reason == "insufficient_position"
    await sim.clock.set(THURSDAY)
    (position,) = await sim.broker.positions("main")
    assert position.closeable_amount == 1000
    assert (await _rejected(sim.sell(PINGAN, 150))).reason == "bad_lot"
    assert (await _rejected(sim.sell(PINGAN, 1100))).reason == "insufficient_position"
    resting = await sim.sell(PINGAN, 400, price=(await sim.data.quote(PINGAN)).high_limit)
    assert resting.status is OrderStatus.OPEN
    (position,) = await sim.broker.positions("main")
    assert (position.closeable_amount, position.frozen_amount) == (600, 400)
    assert (await _rejected(sim.sell(PINGAN, 700))).reason == "insufficient_position"
    sold = await sim.sell(PINGAN, 600)
    assert sold.status is OrderStatus.FILLED
    await sim.broker.cancel_order("main", resting.order_id)
    (position,) = await sim.broker.positions("main")
    assert (position.amount, position.closeable_amount, position.frozen_amount) == (400, 400, 0)
    assert (await sim.sell(PINGAN, 400)).status is OrderStatus.FILLED
    assert await sim.broker.positions("main") == []


async def test_t0_bond_is_closeable_at_once() -> None:
    sim = make()
    order = await sim.buy(BOND, 10)
    assert order.status is OrderStatus.FILLED
    (position,) = await sim.broker.positions("main")
    assert position.closeable_amount == 10
    assert (await sim.sell(BOND, 10)).status is OrderStatus.FILLED


async def test_new_trading_day_expires_open_orders() -> None:
    sim = make()
    low = (await sim.data.quote(PINGAN)).low_limit
    order = await sim.buy(PINGAN, 1000, price=low)
    sim.events.clear()
    await sim.clock.set(THURSDAY)
    snap = await sim.broker.account("main")
    assert (snap.available_cash, snap.frozen_cash) == (CASH, 0)
    expired = [e for e in sim.events if isinstance(e, OrderUpdated)]
    assert [e.order.order_id for e in expired] == [order.order_id]
    assert expired[0].order.status is OrderStatus.CANCELED
    assert await sim.broker.orders("main") == []
    assert await sim.broker.trades("main") == []


async def test_weekend_is_not_a_new_day() -> None:
    sim = make(now=datetime(2026, 3, 20, 10, 0))  # Friday
    await sim.buy(PINGAN, 100)
    await sim.clock.set(datetime(2026, 3, 22, 10, 0))  # Sunday: still Friday's session
    (position,) = await sim.broker.positions("main")
    assert position.closeable_amount == 0
    await sim.clock.set(datetime(2026, 3, 23, 0, 1))  # Monday
    (position,) = await sim.broker.positions("main")
    assert position.closeable_amount == 100


async def test_unknown_account_never_falls_back() -> None:
    sim = make()
    command = PlaceOrder(security=PINGAN, side=Side.BUY, amount=100, order_type=OrderType.MARKET)
    for call in (
        sim.broker.account("ghost"),
        sim.broker.positions("ghost"),
        sim.broker.orders("ghost"),
        sim.broker.trades("ghost"),
        sim.broker.order("ghost", "sim-main-1"),
        sim.broker.place_order("ghost", command),
        sim.broker.cancel_order("ghost", "sim-main-1"),
    ):
        with pytest.raises(UnknownAccount):
            await call


async def test_accounts_are_separate() -> None:
    sim = make()
    main = await sim.buy(PINGAN, 100)
    alt = await sim.buy(PINGAN, 200, account="alt")
    assert (main.order_id, alt.order_id) == ("sim-main-1", "sim-alt-1")
    assert [o.order_id for o in await sim.broker.orders("alt")] == ["sim-alt-1"]
    assert (await sim.broker.positions("alt"))[0].amount == 200
    result = await sim.broker.cancel_order("alt", main.order_id)
    assert result.order is None


async def test_market_order_outside_session_real_mode() -> None:
    sim = make(now=datetime(2026, 3, 18, 12, 0), clock_mode="real")
    refused = await sim.buy(PINGAN, 100)  # accepted by the broker, refused by the exchange
    assert (refused.status, refused.reason) == (OrderStatus.REJECTED, "market_closed")
    high = (await sim.data.quote(PINGAN)).high_limit
    order = await sim.buy(PINGAN, 100, price=high)
    assert order.status is OrderStatus.OPEN  # rests during the lunch break
    assert await sim.broker.match_now() == 0


async def test_background_matching_loop() -> None:
    sim = make(now=datetime(2026, 3, 18, 12, 0), clock_mode="real", match_interval=3.0)
    high = (await sim.data.quote(PINGAN)).high_limit
    order = await sim.buy(PINGAN, 100, price=high)
    filled = asyncio.Event()
    sim.broker.add_listener(lambda e: filled.set() if isinstance(e, TradeExecuted) else None)
    await sim.broker.start()
    await sim.broker.start()  # idempotent
    await asyncio.sleep(0)  # let the loop run its first (closed-market) pass and wait
    assert not filled.is_set()
    await sim.clock.set(datetime(2026, 3, 18, 13, 5))
    await asyncio.wait_for(filled.wait(), 2)
    current = await sim.broker.order("main", order.order_id)
    assert current is not None and current.status is OrderStatus.FILLED
    await sim.broker.stop()
    await sim.broker.stop()


async def test_fills_use_the_data_prices_in_2027() -> None:
    sim = make(now=datetime(2027, 6, 9, 11, 11))
    ask1 = (await sim.data.quote(PUFA)).asks[0][0]
    order = await sim.buy(PUFA, 100)
    assert order.avg_fill_price == ask1


async def test_cash_and_cost_conservation() -> None:
    sim = make(fill_ratio=0.001)
    codes = [PINGAN, PUFA, STAR, BOND]
    for step in range(6):
        for i, code in enumerate(codes):
            quote = await sim.data.quote(code)
            amount = 10 * (step + 1) if code is BOND else (200 + 100 * ((step + i) % 3))
            caged = min(quote.high_limit, round(quote.last_price + 10 * tick_size(code), 3))
            price = caged if (step + i) % 2 else quote.low_limit
            order = await sim.buy(code, amount, price=price)
            if order.status is OrderStatus.OPEN and step % 2:
                await sim.broker.cancel_order("main", order.order_id)
        await sim.clock.advance(timedelta(minutes=7))
        await sim.broker.match_now()
    buys = await sim.broker.trades("main")
    await sim.clock.set(THURSDAY)
    for position in await sim.broker.positions("main"):
        await sim.sell(position.security, position.closeable_amount)
    sells = await sim.broker.trades("main")
    await sim.clock.set(THURSDAY + timedelta(days=1))
    flows = sum(t.amount * t.price for t in sells) - sum(t.amount * t.price for t in buys)
    fees = sum(t.commission + t.tax for t in [*buys, *sells])
    assert await total_cash(sim) == pytest.approx(CASH + flows - fees, abs=0.05)
    held = {p.security: p.amount for p in await sim.broker.positions("main")}
    bought: dict[Security, int] = {}
    for t in buys:
        bought[t.security] = bought.get(t.security, 0) + t.amount
    for t in sells:
        bought[t.security] -= t.amount
    assert held == {s: a for s, a in bought.items() if a}
    assert (await sim.broker.account("main")).frozen_cash == 0


async def test_cost_basis_changes_only_by_fills_and_fees() -> None:
    sim = make()
    await sim.buy(PINGAN, 1000)
    await sim.buy(PUFA, 500)
    snap = await sim.broker.account("main")
    at_cost = sum(p.amount * p.avg_cost for p in snap.positions)
    trades = await sim.broker.trades("main")
    fees = sum(t.commission + t.tax for t in trades)
    assert snap.available_cash + snap.frozen_cash + at_cost == pytest.approx(CASH - fees, abs=0.01)
