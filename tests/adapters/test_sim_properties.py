"""Property tests of the simulated broker over random sequences of orders, fills, cancels and
day changes: T+1 (today's buys are never sellable today, except T+0 products) and cash /
position conservation (cash + cost basis changes only by fills and fees)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bullet_trade.adapters.sim import SimBrokerAdapter, SimDataAdapter, build_sim_backend
from bullet_trade.config import SimConfig
from bullet_trade.errors import OrderRejected
from bullet_trade.model.clock import ManualClock
from bullet_trade.model.codes import Security, parse_security
from bullet_trade.model.enums import OrderType, Side
from bullet_trade.model.records import (
    AccountConfig,
    AccountSnapshot,
    BrokerEvent,
    PlaceOrder,
    TradeExecuted,
)
from bullet_trade.model.rules import is_t0, tick_size

START = datetime(2026, 3, 18, 10, 15)
CASH = 2_000_000.0
STOCK = parse_security("000001.XSHE")  # T+1
GOLD = parse_security("518880.XSHG")  # gold ETF: T+0
ETF = parse_security("510300.XSHG")  # stock ETF: T+1
CODES = (STOCK, GOLD, ETF)

Step = tuple[str, int, int, int]
steps = st.lists(
    st.tuples(
        st.sampled_from(["buy", "buy", "sell", "sell", "cancel", "wait", "day"]),
        st.integers(0, len(CODES) - 1),
        st.integers(1, 60),  # lots, minutes or a choice
        st.integers(-4, 4),  # limit offset in ticks from the last price; 4 = market order
    ),
    min_size=1,
    max_size=30,
)


@dataclass
class Ledger:
    """What the account must look like, rebuilt from the TradeExecuted events alone."""

    cash: float = CASH
    shares: dict[Security, int] = field(default_factory=lambda: defaultdict(int))
    cost: dict[Security, float] = field(default_factory=lambda: defaultdict(float))
    bought_today: dict[Security, int] = field(default_factory=lambda: defaultdict(int))
    fills: int = 0

    def __call__(self, event: BrokerEvent) -> None:
        if not isinstance(event, TradeExecuted):
            return
        t = event.trade
        turnover = t.amount * t.price
        self.fills += 1
        if t.side is Side.BUY:
            self.cash -= turnover + t.commission + t.tax
            self.shares[t.security] += t.amount
            self.cost[t.security] += turnover
            self.bought_today[t.security] += t.amount
        else:
            avg = self.cost[t.security] / self.shares[t.security]
            self.cash += turnover - t.commission - t.tax
            self.cost[t.security] -= avg * t.amount
            self.shares[t.security] -= t.amount


@dataclass
class World:
    data: SimDataAdapter
    broker: SimBrokerAdapter
    clock: ManualClock
    ledger: Ledger

    async def step(self, step: Step) -> None:
        kind, code, n, offset = step
        security = CODES[code]
        if kind == "buy":
            await self._place(security, Side.BUY, 100 * n, offset)
        elif kind == "sell":
            await self._sell(security, n, offset)
        elif kind == "cancel":
            open_orders = [o for o in await self.broker.orders("main") if o.status.is_open]
            if open_orders:
                await self.broker.cancel_order("main", open_orders[n % len(open_orders)].order_id)
        elif kind == "wait":
            await self.clock.advance(timedelta(minutes=n))
            await self.broker.match_now()
        else:
            await self.clock.advance(timedelta(days=1 + n % 2))
            await self.broker.match_now()
            self.ledger.bought_today.clear()

    async def _place(self, security: Security, side: Side, amount: int, offset: int) -> None:
        quote = await self.data.quote(security)
        price = None
        if offset != 4:
            price = round(quote.last_price + offset * tick_size(security), 3)
            price = min(max(price, quote.low_limit), quote.high_limit)
        style = OrderType.MARKET if price is None else OrderType.LIMIT
        command = PlaceOrder(
            security=security, side=side, amount=amount, order_type=style, price=price
        )
        try:
            await self.broker.place_order("main", command)
        except OrderRejected as exc:
            assert exc.reason in ("insufficient_cash", "outside_price_cage"), exc

    async def _sell(self, security: Security, n: int, offset: int) -> None:
        snap = await self.broker.account("main")
        held = next((p for p in snap.positions if p.security == security), None)
        closeable = held.closeable_amount if held is not None else 0
        if n % 5 == 0:  # one more share than closeable: always refused
            command = PlaceOrder(
                security=security, side=Side.SELL, amount=closeable + 100,
                order_type=OrderType.MARKET,
            )  # fmt: skip
            try:
                await self.broker.place_order("main", command)
            except OrderRejected as exc:
                assert exc.reason == "insufficient_position"
            else:
                raise AssertionError("a sell beyond the closeable quantity was accepted")
            return
        if closeable:
            amount = closeable if closeable < 100 else max(closeable * n // 60 // 100 * 100, 100)
            await self._place(security, Side.SELL, amount, offset)


def make_world() -> World:
    clock = ManualClock(START)
    config = SimConfig(initial_cash=CASH, fill_ratio=0.02)
    data, broker = build_sim_backend(config, [AccountConfig(key="main", account_id="1")], clock)
    ledger = Ledger()
    broker.add_listener(ledger)
    return World(data, broker, clock, ledger)


async def check(world: World) -> None:
    snap = await world.broker.account("main")
    orders = await world.broker.orders("main")
    check_conservation(snap, world.ledger)
    open_buys = [o for o in orders if o.status.is_open and o.side is Side.BUY]
    if not open_buys:
        assert snap.frozen_cash == 0.0
    for position in snap.positions:
        selling = sum(
            o.amount - o.filled
            for o in orders
            if o.status.is_open and o.side is Side.SELL and o.security == position.security
        )
        assert position.frozen_amount == selling
        sellable = position.closeable_amount + position.frozen_amount
        if is_t0(position.security):
            assert sellable == position.amount
        else:  # T+1: today's buys are never sellable today
            bought = world.ledger.bought_today[position.security]
            assert sellable <= position.amount - bought


def check_conservation(snap: AccountSnapshot, ledger: Ledger) -> None:
    """cash + frozen equals the ledger; cash + cost basis moved only by fills and fees."""
    tolerance = 0.011 * (ledger.fills + 1)  # per-update rounding to the cent
    assert abs(snap.available_cash + snap.frozen_cash - ledger.cash) <= tolerance
    amounts = {p.security: p.amount for p in snap.positions}
    assert amounts == {s: n for s, n in ledger.shares.items() if n}
    for position in snap.positions:
        cost = ledger.cost[position.security]
        assert abs(position.avg_cost * position.amount - cost) <= 0.0001 * position.amount + 0.01


@settings(
    max_examples=40, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip
@given(steps)
def test_t1_and_conservation_over_random_sequences(sequence: list[Step]) -> None:
    async def run() -> None:
        world = make_world()
        for step in sequence:
            await world.step(step)
            await check(world)
        # cancel everything still open: nothing stays frozen
        for order in await world.broker.orders("main"):
            if order.status.is_open:
                await world.broker.cancel_order("main", order.order_id)
        snap = await world.broker.account("main")
        assert snap.frozen_cash == 0.0
        assert all(p.frozen_amount == 0 for p in snap.positions)
        check_conservation(snap, world.ledger)

    asyncio.run(run())
