"""Sub-account reservations follow every reconcile of their intent (journal-backed table):
released when the order never reached the broker, bound when it did — also when the
reconcile happens on demand (a retry, ``order_status`` by key), not only at startup."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from handler_fakes import ACCOUNTS, T0, FakeBroker, FakeData, FakeSession

from bullet_trade.config import ServerConfig
from bullet_trade.errors import OrderRejected, SubmitUnknown
from bullet_trade.model.clock import ManualClock
from bullet_trade.model.codes import parse_security
from bullet_trade.model.enums import OrderStatus, OrderType, Side
from bullet_trade.model.records import Order
from bullet_trade.server.context import RequestContext, ServerState
from bullet_trade.server.handlers import build_action_table
from bullet_trade.server.reliability import Reliability
from bullet_trade.server.subaccounts import parse_sub_accounts

BUY = {"security": "000001.XSHE", "side": "BUY", "amount": 100,
       "style": {"type": "limit", "price": 10.0}, "wait_timeout": 0}


class Server:
    """A journal-backed action table with sub-account ``demo`` (limit 1000) under ``main``."""

    def __init__(self, tmp_path: Path, broker: FakeBroker) -> None:
        config = ServerConfig(token="t", accounts=ACCOUNTS, order_rate_limit=0,
                              sub_accounts=parse_sub_accounts("demo@main:limit=1000"),
                              runtime_dir=tmp_path)
        self.state = ServerState(config=config, clock=ManualClock(T0), broker=broker,
                                 data=FakeData(), server_instance="i")
        self.reliability = Reliability(config)
        self.table = build_action_table(self.state, self.reliability)

    async def __call__(self, action: str, payload: dict[str, Any]) -> Any:
        ctx = RequestContext(state=self.state, session=FakeSession(None, "demo@main"),
                             request_id=1, action=action)
        return await self.table[action].handler(ctx, payload)

    def used(self) -> float:
        assert self.reliability.book is not None
        return self.reliability.book.used("demo")


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[Server, FakeBroker]]:
    broker = FakeBroker()
    srv = Server(tmp_path, broker)
    await srv.reliability.open(broker)
    yield srv, broker
    await srv.reliability.close()


async def _unknown_placement(srv: Server, broker: FakeBroker, key: str) -> None:
    broker.fail_with = RuntimeError("socket reset")  # outcome unknown: reservation kept
    with pytest.raises(SubmitUnknown):
        await srv("broker.place_order", {**BUY, "idempotency_key": key})
    broker.fail_with = None
    assert srv.used() == 1000.0


async def test_a_retry_reconciled_as_not_submitted_releases_the_reservation(
    server: tuple[Server, FakeBroker],
) -> None:
    srv, broker = server
    await _unknown_placement(srv, broker, "k1")
    with pytest.raises(OrderRejected) as caught:
        await srv("broker.place_order", {**BUY, "idempotency_key": "k1"})
    assert caught.value.reason == "not_submitted"
    assert srv.used() == 0.0  # the quota is free again
    placed = await srv("broker.place_order", {**BUY, "idempotency_key": "k2"})
    assert placed["order_id"]


async def test_order_status_by_key_reconciles_and_releases(
    server: tuple[Server, FakeBroker],
) -> None:
    srv, broker = server
    await _unknown_placement(srv, broker, "k1")
    assert await srv("broker.order_status", {"idempotency_key": "k1"}) == {}
    assert srv.used() == 0.0


def _reached_broker(broker: FakeBroker, key: str) -> Order:
    """The order the failed call did place at the broker (kept its key)."""
    order = Order(
        order_id="o77", account_key="main", security=parse_security("000001.XSHE"),
        side=Side.BUY, order_type=OrderType.LIMIT, amount=100, status=OrderStatus.OPEN,
        raw_status=50, order_price=10.0, created_at=T0, idempotency_key=key,
    )
    broker.orders_by_id[("main", order.order_id)] = order
    return order


async def test_order_found_by_order_status_is_bound_to_its_sub_account(
    server: tuple[Server, FakeBroker],
) -> None:
    srv, broker = server
    await _unknown_placement(srv, broker, "k1")
    _reached_broker(broker, "k1")
    status = await srv("broker.order_status", {"idempotency_key": "k1"})
    assert status["order_id"] == "o77" and status["sub_account_id"] == "demo"
    assert srv.reliability.book is not None
    assert srv.reliability.book.owner("main", "o77") == "demo"
    assert (await srv("broker.order_status", {"order_id": "o77"}))["order_id"] == "o77"
    canceled = await srv("broker.cancel_order", {"order_id": "o77", "wait_timeout": 0})
    assert canceled["value"] is True
    broker.update("main", "o77", OrderStatus.CANCELED)
    assert srv.used() == 0.0  # canceled with nothing filled: the row followed the events


async def test_order_found_by_a_halted_retry_is_bound(
    server: tuple[Server, FakeBroker],
) -> None:
    srv, broker = server
    await _unknown_placement(srv, broker, "k1")
    _reached_broker(broker, "k1")
    await srv.reliability.halts.halt("main", "test")  # the retry goes through _admit/recorded
    placed = await srv("broker.place_order", {**BUY, "idempotency_key": "k1"})
    assert placed["order_id"] == "o77"
    assert srv.reliability.book is not None
    assert srv.reliability.book.owner("main", "o77") == "demo"
    broker.update("main", "o77", OrderStatus.FILLED, filled=100, avg_fill_price=9.5)
    assert srv.used() == 950.0
