"""Persistence of the simulated broker (``build_sim_backend(state_path=...)``)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

from bullet_trade.adapters.sim import SimBrokerAdapter, build_sim_backend
from bullet_trade.config import SimConfig
from bullet_trade.model.clock import ManualClock
from bullet_trade.model.codes import parse_security
from bullet_trade.model.enums import OrderStatus, OrderType, Side
from bullet_trade.model.records import AccountConfig, PlaceOrder

WEDNESDAY = datetime(2027, 3, 17, 10, 15)
THURSDAY = datetime(2027, 3, 18, 10, 15)
PINGAN = parse_security("000001.XSHE")
BOND = parse_security("113050.XSHG")
ACCOUNTS = [AccountConfig(key="main", account_id="1")]


def _open(path: Path, now: datetime, cash: float = 1_000_000.0,
          accounts: list[AccountConfig] = ACCOUNTS) -> SimBrokerAdapter:
    clock = ManualClock(now)
    _, broker = build_sim_backend(
        SimConfig(initial_cash=cash), accounts, clock, state_path=path
    )
    return broker


def _buy(amount: int, price: float | None = None) -> PlaceOrder:
    style = OrderType.MARKET if price is None else OrderType.LIMIT
    return PlaceOrder(security=PINGAN, side=Side.BUY, amount=amount, order_type=style, price=price)


async def _low_limit_price(broker: SimBrokerAdapter) -> float:
    state = broker.market.day_state(PINGAN)
    return broker.market.prices.to_price(PINGAN, state.low_limit)


async def test_restart_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    first = _open(path, WEDNESDAY)
    filled = await first.place_order("main", _buy(1000))
    resting = await first.place_order("main", _buy(200, await _low_limit_price(first)))
    before = (
        await first.account("main"),
        await first.orders("main"),
        await first.trades("main"),
    )
    await first.stop()

    second = _open(path, WEDNESDAY, cash=5.0)  # --sim-cash only seeds new accounts
    after = (
        await second.account("main"),
        await second.orders("main"),
        await second.trades("main"),
    )
    assert after == before
    assert filled.status is OrderStatus.FILLED and resting.status is OrderStatus.OPEN
    next_order = await second.place_order("main", _buy(100))
    assert next_order.order_id not in {filled.order_id, resting.order_id}
    await second.stop()


async def test_new_day_after_restart_rolls_and_keeps_past_orders(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    first = _open(path, WEDNESDAY)
    await first.place_order("main", _buy(1000))
    resting = await first.place_order("main", _buy(200, await _low_limit_price(first)))
    await first.stop()

    second = _open(path, THURSDAY)
    assert await second.orders("main") == []  # today's orders only, as in QMT
    assert await second.trades("main") == []
    expired = await second.order("main", resting.order_id)
    assert expired is not None and expired.status is OrderStatus.CANCELED
    snap = await second.account("main")
    assert snap.frozen_cash == 0.0
    assert [(p.amount, p.closeable_amount) for p in snap.positions] == [(1000, 1000)]
    await second.stop()

    third = _open(path, THURSDAY + timedelta(minutes=5))
    again = await third.order("main", resting.order_id)
    assert again is not None and again.status is OrderStatus.CANCELED
    assert [(p.amount, p.closeable_amount) for p in (await third.positions("main"))] == [
        (1000, 1000)
    ]
    await third.stop()


async def test_new_account_gets_initial_cash(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    first = _open(path, WEDNESDAY)
    await first.place_order("main", _buy(100))
    spent = (await first.account("main")).available_cash
    await first.stop()
    both = [*ACCOUNTS, AccountConfig(key="alt", account_id="2")]
    second = _open(path, WEDNESDAY, cash=123_456.0, accounts=both)
    assert (await second.account("main")).available_cash == spent
    assert (await second.account("alt")).available_cash == 123_456.0
    await second.stop()


async def test_save_does_not_block_the_loop(tmp_path: Path) -> None:
    """Placing an order with persistence costs about the same as in memory: the disk work
    happens on the writer thread."""
    broker = _open(tmp_path / "state.sqlite3", WEDNESDAY, cash=1e9)
    price = await _low_limit_price(broker)
    start = time.perf_counter()
    for _ in range(200):
        await broker.place_order("main", _buy(100, price))
    per_order = (time.perf_counter() - start) / 200
    await broker.stop()
    assert per_order < 0.02  # generous bound for loaded machines; typical is well under 1 ms
    reopened = _open(tmp_path / "state.sqlite3", WEDNESDAY)
    assert len(await reopened.orders("main")) == 200
    await reopened.stop()
