"""QmtBrokerAdapter on the fake xtquant: placement, pushes, rejections, partial fills,
cancels, status map, disconnect/reconnect and start-up failures."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from qmt_kit import ACCOUNTS, Kit, close_kit, kit_fixture, make_kit

from bullet_trade.adapters.qmt import QmtBrokerAdapter
from bullet_trade.adapters.qmt.convert import order_from_xt
from bullet_trade.adapters.qmt.sdk import load_sdk
from bullet_trade.errors import BackendUnavailable, OrderRejected
from bullet_trade.model.codes import parse_security
from bullet_trade.model.enums import OrderStatus, OrderType, Side
from bullet_trade.model.records import (
    BackendStateChanged,
    BrokerEvent,
    OrderUpdated,
    PlaceOrder,
    TradeExecuted,
)

SEC = parse_security("600000.XSHG")


@pytest.fixture
async def kit() -> AsyncIterator[Kit]:
    async for k in kit_fixture():
        yield k


def buy(amount: int = 100, price: float | None = None, key: str = "k1") -> PlaceOrder:
    return PlaceOrder(security=SEC, side=Side.BUY, amount=amount,
                      order_type=OrderType.LIMIT if price else OrderType.MARKET, price=price,
                      idempotency_key=key)


def terminal(order_id: str) -> object:
    def match(e: BrokerEvent) -> bool:
        return isinstance(e, OrderUpdated) and e.order.order_id == order_id and \
            e.order.status.is_terminal
    return match


async def test_market_buy_fills_with_events_and_jq_codes(kit: Kit) -> None:
    order = await kit.broker.place_order("main", buy(key="a-very-long-idempotency-key-0001"))
    assert order.order_id.isdigit() and order.remark.startswith("bt") and len(order.remark) <= 24
    done = await kit.wait_for(terminal(order.order_id))
    assert done.order.status is OrderStatus.FILLED and done.order.filled == 100
    assert done.order.idempotency_key == "a-very-long-idempotency-key-0001"
    trade = await kit.wait_for(lambda e: isinstance(e, TradeExecuted))
    assert trade.trade.security.jq == "600000.XSHG" and trade.trade.amount == 100
    positions = await kit.broker.positions("main")
    assert [(p.security.jq, p.amount, p.closeable_amount) for p in positions] == [
        ("600000.XSHG", 100, 0)]
    trades = await kit.broker.trades("main")
    assert trades[0].order_id == order.order_id
    statuses = [e.order.raw_status for e in kit.events if isinstance(e, OrderUpdated)]
    assert statuses[0] == 49 and statuses[-1] == 56


async def test_pushes_before_the_async_response_are_not_lost(kit: Kit) -> None:
    quote = await kit.data.quote(SEC)
    order = await kit.broker.place_order("main", buy(price=quote.low_limit))
    assert order.status is OrderStatus.OPEN  # the push overtook the response
    kit.exchange.push_before_response = False
    late = await kit.broker.place_order("main", buy(price=quote.low_limit, key="k2"))
    assert late.status in (OrderStatus.SUBMITTED, OrderStatus.OPEN)
    await kit.wait_for(lambda e: isinstance(e, OrderUpdated) and e.order.order_id ==
                       late.order_id and e.order.status is OrderStatus.OPEN)
    assert (await kit.broker.order("main", late.order_id)).status is OrderStatus.OPEN


async def test_order_rejected_after_an_id_was_returned(kit: Kit) -> None:
    sell = PlaceOrder(security=SEC, side=Side.SELL, amount=100, order_type=OrderType.MARKET)
    order = await kit.broker.place_order("main", sell)
    assert order.order_id.isdigit()
    event = await kit.wait_for(terminal(order.order_id))
    assert event.order.status is OrderStatus.REJECTED and event.order.raw_status == 57
    assert "[COUNTER]" in event.order.status_msg
    assert (await kit.broker.order("main", order.order_id)).status is OrderStatus.REJECTED
    rows = await kit.broker.orders("main")
    assert [o.status for o in rows] == [OrderStatus.REJECTED]


async def test_synchronous_prechecks(kit: Kit) -> None:
    with pytest.raises(OrderRejected) as info:
        await kit.broker.place_order("main", buy(amount=150))
    assert info.value.reason == "bad_lot"
    index = PlaceOrder(security=parse_security("000300.XSHG"), side=Side.BUY, amount=100,
                       order_type=OrderType.MARKET)
    with pytest.raises(OrderRejected):
        await kit.broker.place_order("main", index)


async def test_partial_fill_then_cancel() -> None:
    kit = await make_kit(fill_ratio=0.01)
    try:
        quote = await kit.data.quote(SEC)
        price = round(quote.last_price + 0.05, 2)
        order = await kit.broker.place_order("main", buy(amount=50_000, price=price))
        part = await kit.wait_for(lambda e: isinstance(e, OrderUpdated) and
                                  e.order.status is OrderStatus.FILLING)
        assert 0 < part.order.filled < 50_000
        result = await kit.broker.cancel_order("main", order.order_id)
        assert result.accepted
        done = await kit.wait_for(terminal(order.order_id))
        assert done.order.status is OrderStatus.PARTLY_CANCELED and done.order.raw_status == 53
        raws = [e.order.raw_status for e in kit.events if isinstance(e, OrderUpdated)]
        assert 52 in raws  # partly filled, cancel pending: not terminal
        again = await kit.broker.cancel_order("main", order.order_id)
        assert not again.accepted and again.order is not None
        unknown = await kit.broker.cancel_order("main", "999999")
        assert not unknown.accepted and unknown.order is None
    finally:
        await close_kit(kit)


@pytest.mark.parametrize(("raw", "status"), [
    (48, "new"), (49, "new"), (50, "open"), (51, "canceling"), (52, "canceling"),
    (53, "partly_canceled"), (54, "canceled"), (55, "filling"), (56, "filled"),
    (57, "rejected"), (255, "new"),
])
def test_status_map_of_every_xtconstant_code(raw: int, status: str) -> None:
    row = {"order_id": 7, "stock_code": "000001.SZ", "order_status": raw, "order_type": 24,
           "price_type": 88, "order_volume": 100, "order_time": 1_795_485_600}
    order = order_from_xt(row, "main")
    assert order.status.value == status and order.raw_status == raw
    assert order.side is Side.SELL and order.order_type is OrderType.MARKET
    assert order.security.jq == "000001.XSHE" and order.created_at.hour == 10
    assert order.status.is_terminal == (raw in (53, 54, 56, 57))


async def test_disconnect_then_reconnect_with_a_fresh_session(kit: Kit) -> None:
    connects = kit.exchange.connects
    kit.exchange.refuse_connects = 2
    kit.exchange.disconnect()
    await kit.wait_for(lambda e: isinstance(e, BackendStateChanged) and
                       e.state == "disconnected")
    await kit.wait_for(lambda e: isinstance(e, BackendStateChanged) and e.state == "connected")
    assert kit.exchange.connects == connects + 3
    states = [e.state for e in kit.events if isinstance(e, BackendStateChanged)]
    assert states.count("reconnecting") == 3
    order = await kit.broker.place_order("main", buy())
    await kit.wait_for(terminal(order.order_id))
    snapshot = await kit.broker.account("main")
    assert snapshot.positions[0].amount == 100


class ManualTerminal:
    """The miniQMT desktop client itself, as a session of the fake counter: what it does
    (a manual cancel) is pushed to no adapter session."""

    def subscribed_to(self, account_id: str) -> bool:
        return False

    def deliver(self, name: str, obj: Any) -> None:
        pass

    def drop(self) -> None:
        pass


async def test_reconnect_emits_what_changed_while_down_exactly_once() -> None:
    kit = await make_kit(fill_ratio=0.01)
    try:
        quote = await kit.data.quote(SEC)
        filling = await kit.broker.place_order(
            "main", buy(amount=50_000, price=round(quote.last_price + 0.05, 2)))
        resting = await kit.broker.place_order("main", buy(price=quote.low_limit, key="k2"))
        await kit.wait_for(lambda e: isinstance(e, OrderUpdated) and
                           e.order.order_id == resting.order_id)
        part = await kit.wait_for(lambda e: isinstance(e, OrderUpdated) and
                                  e.order.order_id == filling.order_id and e.order.filled > 0)
        kit.exchange.logged_in = False
        kit.exchange.disconnect()
        await kit.wait_for(lambda e: isinstance(e, BackendStateChanged) and
                           e.state == "disconnected")
        await kit.clock.advance(timedelta(minutes=1))
        assert kit.exchange.match_now() > 0  # more fills while nobody listens
        assert kit.exchange.cancel(ManualTerminal(), 1, "111", int(resting.order_id)) == 0
        missed = len(kit.events)
        kit.exchange.logged_in = True
        await kit.wait_for(lambda e: isinstance(e, BackendStateChanged) and e.state == "connected")

        replayed = kit.events[missed:]
        updates = [e.order for e in replayed if isinstance(e, OrderUpdated)]
        assert sorted(o.order_id for o in updates) == sorted([filling.order_id,
                                                               resting.order_id])
        orders = {o.order_id: o for o in await kit.broker.orders("main")}
        assert all(orders[o.order_id] == o for o in updates)
        assert orders[resting.order_id].status is OrderStatus.CANCELED
        assert orders[filling.order_id].filled > part.order.filled
        for order_id, order in orders.items():
            assert await kit.broker.order("main", order_id) == order
        trade_ids = Counter(e.trade.trade_id for e in kit.events if isinstance(e, TradeExecuted))
        queried = [t.trade_id for t in await kit.broker.trades("main")]
        assert sorted(trade_ids) == sorted(queried) and set(trade_ids.values()) == {1}
        assert sum(t.amount for t in await kit.broker.trades("main")) == \
            orders[filling.order_id].filled
        assert any(isinstance(e, TradeExecuted) for e in replayed)
    finally:
        await close_kit(kit)


async def test_requests_fail_fast_while_disconnected() -> None:
    kit = await make_kit()
    try:
        kit.exchange.logged_in = False
        kit.exchange.disconnect()
        await kit.wait_for(lambda e: isinstance(e, BackendStateChanged) and
                           e.state == "disconnected")
        with pytest.raises(BackendUnavailable):
            await kit.broker.account("main")
        with pytest.raises(BackendUnavailable):
            await kit.broker.place_order("main", buy())
        down = kit.broker.readiness()
        assert down["ready"] is False and down["accounts"]["main"] == {"subscribed": False}
        kit.exchange.logged_in = True
        await kit.wait_for(lambda e: isinstance(e, BackendStateChanged) and
                           e.state == "connected")
        assert (await kit.broker.account("main")).available_cash == 1_000_000.0
        up = kit.broker.readiness()
        assert up["ready"] is True and up["trader"] == "connected"
    finally:
        await close_kit(kit)


async def test_start_when_miniqmt_is_not_logged_in() -> None:
    kit = await make_kit(start=False)
    try:
        kit.exchange.logged_in = False
        with pytest.raises(BackendUnavailable) as info:
            await kit.broker.start()
        assert "log in" in info.value.message and "userdata_mini" in info.value.message
    finally:
        await close_kit(kit)


def test_start_without_xtquant_names_the_fix() -> None:
    with pytest.raises(BackendUnavailable) as info:
        load_sdk()
    assert "pip install xtquant" in info.value.message


def test_accounts_on_two_miniqmt_terminals_are_refused_with_the_fix() -> None:
    other = replace(ACCOUNTS[0], key="b", account_id="2", data_path="D:\\QMT2\\userdata_mini")
    with pytest.raises(BackendUnavailable) as info:
        QmtBrokerAdapter([*ACCOUNTS, other], data_path="C:\\QMT\\userdata_mini")
    message = info.value.message
    assert "C:\\QMT\\userdata_mini: main" in message and "D:\\QMT2\\userdata_mini: b" in message
    assert "one `bullet-trade server` per miniQMT terminal" in message and "--port" in message


async def test_stop_during_a_stuck_connect_does_not_leak_the_trader() -> None:
    import asyncio
    import threading

    kit = await make_kit(start=False)
    try:
        gate = threading.Event()
        kit.exchange.connect_gate = gate
        await kit.data.start()
        starting = asyncio.create_task(kit.broker.start())
        await asyncio.to_thread(kit.exchange.connect_entered.wait, 5)
        starting.cancel()
        gate.set()  # the stuck connect completes after its caller gave up
        with pytest.raises(asyncio.CancelledError):
            await starting
        assert kit.exchange.session_count == 0  # the half-opened trader was stopped
    finally:
        kit.exchange.connect_gate = None
        await close_kit(kit)
