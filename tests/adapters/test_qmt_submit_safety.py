"""QmtBrokerAdapter submission safety on the fake xtquant: the server's remark tag reaches the
counter so the journal finds an order after a restart, and a placement that may have gone out
fails with ``SubmitUnknown`` (never ``BackendUnavailable``, which means "nothing was sent")."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime

import pytest
from qmt_kit import ACCOUNTS, Kit, close_kit, kit_fixture, make_kit

from bullet_trade.adapters.qmt import QmtBrokerAdapter
from bullet_trade.adapters.qmt.orders import legacy_token
from bullet_trade.errors import BackendUnavailable, SubmitUnknown
from bullet_trade.model.codes import parse_security
from bullet_trade.model.enums import OrderStatus, OrderType, Side
from bullet_trade.model.records import BackendStateChanged, Order, PlaceOrder
from bullet_trade.server.journal.codec import order_matches, remark_tag, tagged_remark
from bullet_trade.testing.fake_xtquant.backend import FAKE_DATA_PATH

SEC = parse_security("600000.XSHG")
LONG_KEY = "client-intent-0001-with-a-long-idempotency-key"


@pytest.fixture
async def kit() -> AsyncIterator[Kit]:
    async for k in kit_fixture():
        yield k


def buy(key: str, remark: str = "") -> PlaceOrder:
    return PlaceOrder(security=SEC, side=Side.BUY, amount=100, order_type=OrderType.MARKET,
                      idempotency_key=key, remark=remark)


def server_command(key: str, note: str = "my note") -> tuple[str, PlaceOrder]:
    """The tag and command as the server's place handler builds them."""
    tag = remark_tag("main", key)
    return tag, buy(key, tagged_remark(tag, note, sub="demo"))


async def restarted_orders(kit: Kit) -> list[Order]:
    """Stop the adapter and list the counter's orders through a brand-new adapter instance
    (no in-memory state) on the same fake exchange, as after a server restart."""
    await kit.broker.stop()
    fresh = QmtBrokerAdapter(ACCOUNTS, data_path=FAKE_DATA_PATH, clock=kit.clock)
    await fresh.start()
    try:
        return await fresh.orders("main")
    finally:
        await fresh.stop()


async def back_online(kit: Kit) -> None:
    """Let the adapter reconnect (so closing the kit interrupts no connection attempt)."""
    kit.exchange.logged_in = True
    await kit.wait_for(lambda e: isinstance(e, BackendStateChanged) and e.state == "connected")


# ---------------------------------------------------------------------- remark / restart


async def test_server_tag_survives_a_restart_and_the_journal_matches(kit: Kit) -> None:
    tag, command = server_command(LONG_KEY)
    other_tag, other = server_command("another-key")
    placed = await kit.broker.place_order("main", command)
    assert placed.idempotency_key == LONG_KEY and placed.remark.startswith(tag)
    await kit.broker.place_order("main", other)
    orders = await restarted_orders(kit)
    assert len(orders) == 2
    assert all(o.idempotency_key is None for o in orders)  # not guessed from remarks
    assert [o.order_id for o in orders if order_matches(o, tag, LONG_KEY)] == [placed.order_id]
    assert [o for o in orders if order_matches(o, other_tag, "another-key")] != []
    assert not any(order_matches(o, remark_tag("main", "never-sent"), "never-sent")
                   for o in orders)


@pytest.mark.parametrize("key", ["short-key-1", LONG_KEY])
async def test_remarkless_placement_matches_after_restart_by_its_legacy_form(
    kit: Kit, key: str
) -> None:
    placed = await kit.broker.place_order("main", buy(key))
    assert placed.remark == legacy_token(key)
    orders = await restarted_orders(kit)
    tag = remark_tag("main", key)
    assert [o.order_id for o in orders if order_matches(o, tag, key)] == [placed.order_id]


def test_order_matches_accepts_legacy_adapter_remarks() -> None:
    def order(remark: str, key: str | None = None) -> Order:
        return Order(order_id="1", account_key="main", security=SEC, side=Side.BUY,
                     order_type=OrderType.MARKET, amount=100, status=OrderStatus.SUBMITTED,
                     raw_status=49, order_price=None, created_at=datetime(2026, 11, 24, 10),
                     remark=remark, idempotency_key=key)

    tag = remark_tag("main", LONG_KEY)
    assert order_matches(order(legacy_token(LONG_KEY)), tag, LONG_KEY)
    assert order_matches(order("k-short"), remark_tag("main", "k-short"), "k-short")
    assert order_matches(order("", LONG_KEY), tag, LONG_KEY)
    assert order_matches(order(tag + " @demo note"), tag, LONG_KEY)
    assert not order_matches(order(legacy_token("other-key-that-is-long-enough-x")), tag,
                             LONG_KEY)
    assert not order_matches(order(""), "", "")  # empty key / tag match nothing


async def test_a_shared_user_remark_never_gives_an_order_another_key(kit: Kit) -> None:
    first = await kit.broker.place_order("main", buy("key-a", remark="same"))
    second = await kit.broker.place_order("main", buy("key-b", remark="same"))
    keys = {o.order_id: o.idempotency_key for o in await kit.broker.orders("main")}
    assert keys == {first.order_id: "key-a", second.order_id: "key-b"}


# ---------------------------------------------------------------------- SubmitUnknown


async def test_disconnect_after_the_order_went_out_is_submit_unknown(kit: Kit) -> None:
    kit.exchange.withhold_order_responses = True
    _, command = server_command("lost-answer")
    task = asyncio.create_task(kit.broker.place_order("main", command))

    for _ in range(5000):  # until the seq is known and its response awaited
        if kit.broker._waits:
            break
        await asyncio.sleep(0.001)
    assert kit.broker._waits
    kit.exchange.logged_in = False  # stay down: no reconnect racing the assertion
    kit.exchange.disconnect()
    with pytest.raises(SubmitUnknown) as caught:
        await asyncio.wait_for(task, 2)
    assert caught.value.details == {"idempotency_key": "lost-answer"}
    assert len(kit.exchange.orders("111")) == 1  # it did reach the counter
    await back_online(kit)


async def test_order_call_hanging_past_the_timeout_is_submit_unknown() -> None:
    kit = await make_kit(call_timeout=0.3)
    hang = kit.exchange.hang("order_stock_async")
    try:
        with pytest.raises(SubmitUnknown) as caught:
            await kit.broker.place_order("main", buy("stuck-call"))
        assert caught.value.details == {"idempotency_key": "stuck-call"}
        assert hang.entered.is_set()
        hang.set()  # the stuck call completes late: the order does exist
        for _ in range(500):
            if kit.exchange.orders("111"):
                break
            await asyncio.sleep(0.01)
        assert len(kit.exchange.orders("111")) == 1
    finally:
        hang.set()
        await close_kit(kit)


async def test_not_connected_at_call_time_is_backend_unavailable() -> None:
    kit = await make_kit()
    try:
        kit.exchange.logged_in = False
        kit.exchange.disconnect()
        await kit.wait_for(lambda e: isinstance(e, BackendStateChanged) and
                           e.state == "disconnected")
        with pytest.raises(BackendUnavailable):
            await kit.broker.place_order("main", buy("while-down"))
        assert kit.exchange.orders("111") == []
        await back_online(kit)
    finally:
        await close_kit(kit)


async def test_never_started_is_backend_unavailable() -> None:
    kit = await make_kit(start=False)
    try:
        with pytest.raises(BackendUnavailable):
            await kit.broker.place_order("main", replace(buy("cold"), remark="x"))
    finally:
        await close_kit(kit)
