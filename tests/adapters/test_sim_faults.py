"""Fault injection of the simulated broker: latency, refusals, outages, held/reordered events."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from bullet_trade.adapters.sim import SimBrokerAdapter, build_sim_backend
from bullet_trade.config import FaultConfig, SimConfig
from bullet_trade.errors import BackendUnavailable, OrderRejected
from bullet_trade.model.clock import ManualClock
from bullet_trade.model.codes import parse_security
from bullet_trade.model.enums import OrderStatus, OrderType, Side
from bullet_trade.model.records import (
    AccountConfig,
    BackendStateChanged,
    BrokerEvent,
    OrderUpdated,
    PlaceOrder,
)

NOW = datetime(2026, 3, 18, 10, 15)
PINGAN = parse_security("000001.XSHE")
ACCOUNTS = [AccountConfig(key="main", account_id="1")]


@dataclass
class Rig:
    broker: SimBrokerAdapter
    clock: ManualClock
    events: list[BrokerEvent] = field(default_factory=list)
    _waiters: list[tuple[Callable[[], bool], asyncio.Event]] = field(default_factory=list)

    def listen(self, event: BrokerEvent) -> None:
        self.events.append(event)
        for check, flag in self._waiters:
            if check():
                flag.set()

    async def until(self, check: Callable[[], bool]) -> None:
        """Wait (at most 2 s) until ``check()`` holds after some event."""
        if check():
            return
        flag = asyncio.Event()
        self._waiters.append((check, flag))
        await asyncio.wait_for(flag.wait(), 2.0)


def rig(faults: FaultConfig, **config: object) -> Rig:
    clock = ManualClock(NOW)
    sim = SimConfig(faults=faults, **config)  # type: ignore[arg-type]
    _, broker = build_sim_backend(sim, ACCOUNTS, clock)
    r = Rig(broker, clock)
    broker.add_listener(r.listen)
    return r


def buy(amount: int = 100, price: float | None = None) -> PlaceOrder:
    style = OrderType.MARKET if price is None else OrderType.LIMIT
    return PlaceOrder(security=PINGAN, side=Side.BUY, amount=amount, order_type=style, price=price)


def states(events: list[BrokerEvent]) -> list[str]:
    return [e.state for e in events if isinstance(e, BackendStateChanged)]


def test_fault_spec_parsing() -> None:
    spec = "latency=0.05, reject_rate=0.1,disconnect_every=60,disconnect_for=5,reorder"
    faults = FaultConfig.parse(spec)
    assert faults == FaultConfig(
        latency=0.05, reject_rate=0.1, disconnect_every=60, disconnect_for=5, reorder=True
    )
    assert FaultConfig.parse("") == FaultConfig() and not FaultConfig().active
    assert SimConfig().faults == FaultConfig()  # all off by default
    for bad in ("nope=1", "latency=x", "reject_rate=2", "disconnect_every=5,disconnect_for=9"):
        with pytest.raises(ValueError):
            FaultConfig.parse(bad)


async def test_latency_is_added_to_every_call() -> None:
    r = rig(FaultConfig(latency=0.05))
    start = time.perf_counter()
    await r.broker.account("main")
    await r.broker.orders("main")
    assert time.perf_counter() - start >= 0.1


async def test_rejection_rate_is_deterministic_and_records_nothing() -> None:
    async def outcomes() -> list[bool]:
        r = rig(FaultConfig(reject_rate=0.3), initial_cash=1e9)
        out = []
        for _ in range(40):
            try:
                await r.broker.place_order("main", buy())
                out.append(True)
            except OrderRejected as exc:
                assert exc.reason == "broker_rejected"
                out.append(False)
        assert len(await r.broker.orders("main")) == sum(out)
        return out

    first = await outcomes()
    assert first == await outcomes()  # same seed, same refusals
    assert 4 <= first.count(False) <= 24
    never = rig(FaultConfig(reject_rate=1.0))
    with pytest.raises(OrderRejected):
        await never.broker.place_order("main", buy())


async def test_disconnect_and_reconnect_on_demand() -> None:
    r = rig(FaultConfig())
    r.broker.disconnect()
    assert states(r.events) == ["disconnected"]
    for call in (
        r.broker.account("main"),
        r.broker.positions("main"),
        r.broker.orders("main"),
        r.broker.trades("main"),
        r.broker.order("main", "x"),
        r.broker.place_order("main", buy()),
        r.broker.cancel_order("main", "x"),
    ):
        with pytest.raises(BackendUnavailable):
            await call
    r.broker.disconnect()  # idempotent: no second event
    r.broker.reconnect()
    assert states(r.events) == ["disconnected", "connected"]
    assert (await r.broker.place_order("main", buy())).status is OrderStatus.FILLED


async def test_events_of_an_outage_are_delivered_after_reconnect() -> None:
    r = rig(FaultConfig(), fill_ratio=0.001, initial_cash=1e9)
    high = r.broker.market.quote(PINGAN).high_limit  # a limit order works over many minutes
    order = await r.broker.place_order("main", buy(100_000, price=high))
    assert order.status is OrderStatus.FILLING
    r.broker.disconnect()
    before = len(r.events)
    await r.clock.advance(timedelta(minutes=1))
    assert await r.broker.match_now() == 1  # the exchange keeps matching
    assert len(r.events) == before  # held while down
    r.broker.reconnect()
    await r.until(lambda: any(isinstance(e, OrderUpdated) for e in r.events[before + 1 :]))
    assert isinstance(r.events[before], BackendStateChanged)


async def test_scheduled_outages() -> None:
    r = rig(FaultConfig(disconnect_every=60, disconnect_for=10))
    await r.clock.advance(timedelta(seconds=30))
    await r.broker.account("main")
    await r.clock.advance(timedelta(seconds=35))  # 65 s: inside the first outage
    with pytest.raises(BackendUnavailable):
        await r.broker.account("main")
    await r.clock.advance(timedelta(seconds=10))  # 75 s: back
    await r.broker.account("main")
    await r.clock.advance(timedelta(seconds=50))  # 125 s: second outage, noticed by matching
    await r.broker.match_now()
    assert states(r.events) == ["disconnected", "connected", "disconnected"]


async def test_delayed_callbacks_arrive_after_the_delay() -> None:
    r = rig(FaultConfig(callback_delay=5))
    order = await r.broker.place_order("main", buy())
    assert order.status is OrderStatus.FILLED
    await asyncio.sleep(0)
    assert r.events == []  # held
    await r.clock.advance(timedelta(seconds=5))
    await r.until(lambda: len(r.events) >= 5)
    reference = rig(FaultConfig())
    await reference.broker.place_order("main", buy())
    assert r.events == reference.events  # delayed, same order, nothing lost


async def test_reordered_callbacks_are_swapped_never_lost() -> None:
    r = rig(FaultConfig(reorder=True))
    reference = rig(FaultConfig())
    for target in (r, reference):
        await target.broker.place_order("main", buy())
        await target.broker.place_order("main", buy(200))
    await r.until(lambda: len(r.events) == len(reference.events))
    assert r.events != reference.events
    assert sorted(map(repr, r.events)) == sorted(map(repr, reference.events))
    assert r.events[0] == reference.events[1] and r.events[1] == reference.events[0]


async def test_stop_flushes_held_events() -> None:
    r = rig(FaultConfig(callback_delay=3600))
    await r.broker.place_order("main", buy())
    assert r.events == []
    await r.broker.stop()
    assert len(r.events) == 5  # OrderUpdated, AccountChanged, TradeExecuted, OrderUpdated, ...
