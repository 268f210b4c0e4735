"""The simulated exchange's rules, order lifecycle and persistence, seen through a real
``QmtServer`` and the async client on loopback (``real`` clock mode on a ManualClock)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bullet_trade.adapters.sim import SimBrokerAdapter, build_sim_backend
from bullet_trade.client import AsyncConnection, AsyncRemoteBroker, AsyncRemoteProvider
from bullet_trade.config import ClientConfig, ServerConfig, SimConfig
from bullet_trade.errors import OrderRejected
from bullet_trade.model.clock import ManualClock
from bullet_trade.model.codes import Security, parse_security
from bullet_trade.model.enums import OrderStatus, OrderType, Side
from bullet_trade.model.records import AccountConfig, BrokerEvent, Order, PlaceOrder
from bullet_trade.server.app import QmtServer

pytestmark = pytest.mark.e2e

TOKEN = "tok"
ACCOUNTS = (AccountConfig(key="main", account_id="111"),)
TUESDAY = datetime(2027, 3, 16, 10, 0)  # a trading day past the library calendar's bound
WEDNESDAY = datetime(2027, 3, 17, 10, 0)
PINGAN = parse_security("000001.XSHE")
PUFA = parse_security("600000.XSHG")


@dataclass
class Venue:
    """A running server and a client bound to account ``main``."""

    server: QmtServer
    sim: SimBrokerAdapter
    clock: ManualClock
    broker: AsyncRemoteBroker
    provider: AsyncRemoteProvider
    events: list[BrokerEvent] = field(default_factory=list)

    async def place(
        self, security: Security, side: Side, amount: int, price: float | None = None
    ) -> Order:
        style = OrderType.MARKET if price is None else OrderType.LIMIT
        command = PlaceOrder(
            security=security, side=side, amount=amount, order_type=style, price=price
        )
        return await self.broker.place_order("main", command)

    async def reject_reason(
        self, security: Security, side: Side, amount: int, price: float | None = None
    ) -> str | None:
        with pytest.raises(OrderRejected) as info:
            await self.place(security, side, amount, price)
        return info.value.reason

    async def late_reason(
        self, security: Security, side: Side, amount: int, price: float | None = None
    ) -> str | None:
        """Reason of an order the exchange refused after acceptance (status 57): the client
        reports the refusal with the order id, and the order stays queryable."""
        with pytest.raises(OrderRejected) as info:
            await self.place(security, side, amount, price)
        order = await self.broker.order("main", info.value.details["order_id"])
        assert order is not None and (order.status, order.raw_status) == (OrderStatus.REJECTED, 57)
        assert order.reason == info.value.reason
        return order.reason


Opener = Callable[..., Awaitable[Venue]]


@asynccontextmanager
async def _venue(
    now: datetime, state_path: Path | None, sim: SimConfig
) -> AsyncIterator[Venue]:
    clock = ManualClock(now)
    data, broker = build_sim_backend(sim, list(ACCOUNTS), clock, state_path=state_path)
    config = ServerConfig(
        listen="127.0.0.1", port=0, token=TOKEN, accounts=ACCOUNTS, sim=sim,
        trade_max_wait=1.0, access_log=False,
    )  # fmt: skip
    async with QmtServer(config, data=data, broker=broker, clock=clock) as server:
        client = ClientConfig(port=server.port, token=TOKEN, rpc_timeout=10.0)
        conn = AsyncConnection(client, extensions=("events.v1",))
        await conn.connect()
        remote = AsyncRemoteBroker(conn, account_key="main")
        venue = Venue(server, broker, clock, remote, AsyncRemoteProvider(conn))
        broker.add_listener(venue.events.append)
        try:
            yield venue
        finally:
            await conn.close()


@pytest.fixture
async def venue() -> AsyncIterator[Venue]:
    async with _venue(TUESDAY, None, SimConfig(clock_mode="real")) as v:
        yield v


# --------------------------------------------------------------------------- persistence


async def _limit_below(v: Venue, security: Security) -> float:
    quote = await v.provider.quote(security)
    return quote.low_limit


async def test_restart_on_the_same_runtime_dir_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "sim_state.sqlite3"
    sim = SimConfig(clock_mode="real")
    async with _venue(TUESDAY, path, sim) as v:
        filled = await v.place(PINGAN, Side.BUY, 1000)
        resting = await v.place(PUFA, Side.BUY, 300, await _limit_below(v, PUFA))
        canceled = await v.place(PUFA, Side.BUY, 100, await _limit_below(v, PUFA))
        await v.broker.cancel_order("main", canceled.order_id)
        before = (
            await v.broker.account("main"),
            await v.broker.orders("main"),
            await v.broker.trades("main"),
        )
    assert filled.status is OrderStatus.FILLED and resting.status is OrderStatus.OPEN

    async with _venue(TUESDAY, path, sim) as v:
        after = (
            await v.broker.account("main"),
            await v.broker.orders("main"),
            await v.broker.trades("main"),
        )
        assert after == before
        statuses = {o.order_id: o.status for o in after[1]}
        assert statuses[canceled.order_id] is OrderStatus.CANCELED
        assert statuses[resting.order_id] is OrderStatus.OPEN

    async with _venue(WEDNESDAY, path, sim) as v:  # next trading day: T+1 and expiry
        assert await v.broker.orders("main") == []
        expired = await v.broker.order("main", resting.order_id)
        assert expired is not None and expired.status is OrderStatus.CANCELED
        snap = await v.broker.account("main")
        assert snap.frozen_cash == 0.0
        assert [(p.security, p.closeable_amount) for p in snap.positions] == [(PINGAN, 1000)]
        sold = await v.place(PINGAN, Side.SELL, 1000)
        assert sold.status is OrderStatus.FILLED


# --------------------------------------------------------------------------- rejections

STAR = parse_security("688981.XSHG")
CSI300 = parse_security("000300.XSHG")


async def test_every_rejection_reason_through_the_wire(venue: Venue) -> None:
    v = venue
    pufa = await v.provider.quote(PUFA)
    cases: list[tuple[Any, str]] = [
        ((CSI300, Side.BUY, 100), "not_tradable"),
        ((PUFA, Side.BUY, 150, pufa.last_price), "bad_lot"),
        ((STAR, Side.BUY, 100), "bad_lot"),
        ((PUFA, Side.BUY, 100, round(pufa.last_price + 0.005, 3)), "bad_tick"),
        ((PUFA, Side.BUY, 100, round(pufa.high_limit + 0.01, 2)), "price_outside_limit"),
        ((PUFA, Side.SELL, 100), "insufficient_position"),
        ((PUFA, Side.BUY, 10_000_000, pufa.last_price), "insufficient_cash"),
    ]
    for args, reason in cases:
        assert await v.reject_reason(*args) == reason, args
    v.sim.market.suspend(PUFA)
    assert await v.reject_reason(PUFA, Side.BUY, 100, pufa.last_price) == "suspended"
    assert await v.broker.orders("main") == []  # a rejected order records nothing
    v.sim.market.resume(PUFA)
    # refused by the exchange after acceptance: recorded with status 57 and its reason
    assert await v.late_reason(PUFA, Side.BUY, 100, pufa.high_limit) == "outside_price_cage"


async def test_market_orders_only_in_continuous_trading(venue: Venue) -> None:
    v = venue
    await v.clock.set(datetime(2027, 3, 16, 12, 0))  # lunch break
    assert await v.late_reason(PINGAN, Side.BUY, 100) == "market_closed"
    await v.clock.set(datetime(2027, 3, 16, 14, 58))  # closing auction
    assert await v.late_reason(PINGAN, Side.BUY, 100) == "market_closed"


# --------------------------------------------------------------------------- lifecycle


async def test_status_transitions_and_events() -> None:
    """50 open → 55 filling → 56 filled; 50 → 54 canceled; 55 → 53 partly canceled; every
    state change an OrderUpdated, every fill a TradeExecuted."""
    async with _venue(TUESDAY, None, SimConfig(clock_mode="real", fill_ratio=0.001)) as v:
        await _transitions(v)


async def _transitions(v: Venue) -> None:
    filled = await v.place(PINGAN, Side.BUY, 100)
    assert (filled.status, filled.raw_status) == (OrderStatus.FILLED, 56)
    resting = await v.place(PUFA, Side.BUY, 100, await _limit_below(v, PUFA))
    assert (resting.status, resting.raw_status) == (OrderStatus.OPEN, 50)
    await v.broker.cancel_order("main", resting.order_id)
    canceled = await v.broker.order("main", resting.order_id)
    assert canceled is not None and (canceled.status, canceled.raw_status) == (
        OrderStatus.CANCELED, 54,
    )  # fmt: skip
    high = (await v.provider.quote(PINGAN)).high_limit
    big = await v.place(PINGAN, Side.BUY, 5000, high)  # beyond one bar's volume cap
    assert (big.status, big.raw_status) == (OrderStatus.FILLING, 55)
    await v.broker.cancel_order("main", big.order_id)
    partly = await v.broker.order("main", big.order_id)
    assert partly is not None and (partly.status, partly.raw_status) == (
        OrderStatus.PARTLY_CANCELED, 53,
    )  # fmt: skip
    updates = [e.order.raw_status for e in v.events if type(e).__name__ == "OrderUpdated"]
    trades = [e for e in v.events if type(e).__name__ == "TradeExecuted"]
    assert updates == [50, 56, 50, 54, 50, 55, 53]
    assert len(trades) == 2
