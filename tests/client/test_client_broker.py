from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fake_qmt_server import FakeServer, FakeSession, routes

from bullet_trade.client import AsyncConnection, AsyncRemoteBroker
from bullet_trade.errors import (
    BadRequest,
    BulletTradeError,
    ConnectionLost,
    IdempotencyConflict,
    OrderRejected,
    RequestTimeout,
    SubmitUnknown,
    UnknownAccount,
)
from bullet_trade.model.codes import parse_security
from bullet_trade.model.enums import OrderStatus, OrderType, Side
from bullet_trade.model.records import OrderUpdated, PlaceOrder

ORDER_ROW = {
    "order_id": "stub-1", "security": "000001.XSHE", "amount": 100, "filled": 0,
    "traded_volume": 0, "status": "open", "side": "BUY", "style": "limit",
    "order_price": 10.0, "price": 0.0, "order_type": 23, "is_buy": True, "raw_status": 50,
}


def _placed(frame: dict[str, Any]) -> dict[str, Any]:
    return {"order_id": "o-1", "status": "submitted", "amount": frame["payload"]["amount"]}


async def _broker(srv: FakeServer, make_config, **kw: Any) -> AsyncRemoteBroker:
    conn = AsyncConnection(make_config(srv.port))
    await conn.connect()
    return AsyncRemoteBroker(conn, account_key=kw.get("account_key", "main"),
                             sub_account_id=kw.get("sub_account_id"))


async def test_place_order_payload_shape_and_key(make_config) -> None:
    async with FakeServer(routes({"broker.place_order": _placed})) as srv:
        broker = await _broker(srv, make_config, sub_account_id="demo")
        try:
            reply = await broker.buy("000001.SZ", 100, 10.5, remark="r1")
            assert reply["order_id"] == "o-1"
            payload = srv.received[0]["payload"]
            assert payload["account_key"] == "main" and payload["sub_account_id"] == "demo"
            assert payload["security"] == "000001.XSHE"
            assert payload["side"] == "BUY" and payload["amount"] == 100
            assert payload["style"] == {"type": "limit", "price": 10.5}
            assert payload["price"] == 10.5 and payload["market"] is False
            assert payload["wait_timeout"] == 0.0
            assert payload["order_remark"] == "r1"
            assert payload["idempotency_key"].startswith("bt-")
            await broker.sell("600000.XSHG", 200)
            market = srv.received[1]["payload"]
            assert market["style"] == {"type": "market"} and market["market"] is True
            assert market["side"] == "SELL" and "price" not in market
            assert market["idempotency_key"] != payload["idempotency_key"]
        finally:
            await broker.connection.close()


async def test_invalid_orders_are_refused_locally(make_config) -> None:
    async with FakeServer() as srv:
        broker = await _broker(srv, make_config)
        try:
            with pytest.raises(BadRequest) as info:
                await broker.buy("000001.XSHE", 0, 10.0)
            assert info.value.field == "amount"
            with pytest.raises(BadRequest):
                await broker.buy("000001.XSHE", 100, None, market=False)
            with pytest.raises(BadRequest):
                await broker.buy("nonsense", 100, 10.0)
            assert srv.received == []
        finally:
            await broker.connection.close()


async def test_retry_after_dropped_link_resends_same_key(make_config) -> None:
    calls = 0

    async def handler(session: FakeSession, frame: dict[str, Any]) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            session.drop()  # read the order, then the link dies before any reply
        else:
            await session.reply(frame, _placed(frame))

    async with FakeServer(handler) as srv:
        broker = await _broker(srv, make_config)
        try:
            reply = await broker.buy("000001.XSHE", 100, 10.0, idempotency_key="k-1")
            assert reply["order_id"] == "o-1"
            keys = [f["payload"]["idempotency_key"] for f in srv.received]
            assert keys == ["k-1", "k-1"]
            assert len(srv.handshakes) == 2
        finally:
            await broker.connection.close()


async def test_no_retry_after_error_reply(make_config) -> None:
    async def handler(session: FakeSession, frame: dict[str, Any]) -> None:
        await session.error(frame, "IDEMPOTENCY_CONFLICT", "key reused")

    async with FakeServer(handler) as srv:
        broker = await _broker(srv, make_config)
        try:
            with pytest.raises(IdempotencyConflict):
                await broker.buy("000001.XSHE", 100, 10.0)
            assert len(srv.received) == 1
        finally:
            await broker.connection.close()


async def test_v1_request_failed_is_not_retried(make_config) -> None:
    async def handler(session: FakeSession, frame: dict[str, Any]) -> None:
        await session.error(frame, "REQUEST_FAILED", "子账户 demo 超过额度限制 1500.0")

    async with FakeServer(handler) as srv:
        broker = await _broker(srv, make_config)
        try:
            with pytest.raises(BulletTradeError) as info:
                await broker.buy("000001.XSHE", 100, 10.0)
            assert info.value.code == "REQUEST_FAILED"
            assert len(srv.received) == 1
        finally:
            await broker.connection.close()


async def test_client_timeout_on_place_order_raises_submit_unknown_with_key(make_config) -> None:
    async def never(session: FakeSession, frame: dict[str, Any]) -> None:
        return None

    async with FakeServer(never) as srv:
        conn = AsyncConnection(make_config(srv.port, rpc_timeout=0.1))
        await conn.connect()
        broker = AsyncRemoteBroker(conn, account_key=None, timeout_margin=0.0)
        try:
            with pytest.raises(SubmitUnknown) as info:
                await broker.buy("000001.XSHE", 100, 10.0, idempotency_key="k-t")
            assert info.value.details["idempotency_key"] == "k-t"
            assert isinstance(info.value.__cause__, RequestTimeout)
            assert len(srv.received) == 1  # never re-sent blindly
        finally:
            await conn.close()


async def test_server_request_timeout_on_place_order_is_submit_unknown(make_config) -> None:
    async def handler(session: FakeSession, frame: dict[str, Any]) -> None:
        await session.error(frame, "REQUEST_TIMEOUT", "请求超时（>60.0s）")

    async with FakeServer(handler) as srv:
        broker = await _broker(srv, make_config)
        try:
            with pytest.raises(SubmitUnknown) as info:
                await broker.buy("000001.XSHE", 100, 10.0, idempotency_key="k-s")
            assert info.value.details["idempotency_key"] == "k-s"
            assert len(srv.received) == 1
        finally:
            await broker.connection.close()


async def test_repeated_drops_give_submit_unknown_after_bounded_retries(make_config) -> None:
    async def drop(session: FakeSession, frame: dict[str, Any]) -> None:
        session.drop()

    async with FakeServer(drop) as srv:
        conn = AsyncConnection(make_config(srv.port))
        await conn.connect()
        broker = AsyncRemoteBroker(conn, account_key="main", submit_retries=2)
        try:
            with pytest.raises(SubmitUnknown) as info:
                await broker.buy("000001.XSHE", 100, 10.0, idempotency_key="k-d")
            assert info.value.details["idempotency_key"] == "k-d"
            assert [f["payload"]["idempotency_key"] for f in srv.received] == ["k-d"] * 3
        finally:
            await conn.close()


async def test_rejected_status_raises_order_rejected(make_config) -> None:
    reply = {"order_id": "o-9", "status": "rejected", "status_msg": "insufficient cash"}
    async with FakeServer(routes({"broker.place_order": reply})) as srv:
        broker = await _broker(srv, make_config)
        try:
            with pytest.raises(OrderRejected) as info:
                await broker.buy("000001.XSHE", 100, 10.0)
            assert info.value.reason == "insufficient cash"
            assert info.value.details["order_id"] == "o-9"
            assert len(srv.received) == 1
        finally:
            await broker.connection.close()


async def test_reply_without_order_id_is_submit_unknown(make_config) -> None:
    async with FakeServer(routes({"broker.place_order": {"status": "submit_unknown"}})) as srv:
        broker = await _broker(srv, make_config)
        try:
            with pytest.raises(SubmitUnknown):
                await broker.buy("000001.XSHE", 100, 10.0)
        finally:
            await broker.connection.close()


async def test_cancel_is_sent_once_and_never_retried(make_config) -> None:
    async def drop(session: FakeSession, frame: dict[str, Any]) -> None:
        session.drop()

    async with FakeServer(drop) as srv:
        broker = await _broker(srv, make_config)
        try:
            with pytest.raises(ConnectionLost):
                await broker.cancel_accepted("o-1")
            assert len(srv.received) == 1
        finally:
            await broker.connection.close()


async def test_contract_place_and_cancel(make_config) -> None:
    cancel = {"dtype": "dict", "value": True, "status": "canceled", "raw_status": 54,
              "last_snapshot": {**ORDER_ROW, "status": "canceled", "raw_status": 54},
              "timed_out": False}
    async with FakeServer(routes({"broker.place_order": _placed,
                                  "broker.cancel_order": cancel})) as srv:
        broker = await _broker(srv, make_config)
        try:
            command = PlaceOrder(security=parse_security("600000.XSHG"), side=Side.SELL,
                                 amount=300, order_type=OrderType.LIMIT, price=8.8,
                                 idempotency_key="cmd-1")
            order = await broker.place_order("main", command)
            assert order.order_id == "o-1" and order.side is Side.SELL
            assert order.security.jq == "600000.XSHG"
            assert order.status is OrderStatus.SUBMITTED
            assert srv.received[0]["payload"]["idempotency_key"] == "cmd-1"
            result = await broker.cancel_order("main", "stub-1")
            assert result.accepted is True
            assert result.order is not None and result.order.status is OrderStatus.CANCELED
            assert srv.received[1]["payload"]["order_id"] == "stub-1"
            assert srv.received[1]["payload"]["idempotency_key"].startswith("bt-")
            with pytest.raises(UnknownAccount):
                await broker.place_order("other", command)
        finally:
            await broker.connection.close()


async def test_reads_and_conversion(make_config) -> None:
    account = {"dtype": "dict", "value": {"account_id": "123", "account_type": "stock",
               "available_cash": 5000.0, "positions": [
                   {"security": "000001.XSHE", "amount": 200, "closeable_amount": 100,
                    "avg_cost": 9.5, "current_price": 10.0, "market_value": 2000.0}]}}
    trade = {"trade_id": "t1", "order_id": "stub-1", "security": "000001.XSHE",
             "amount": 100, "price": 10.0, "time": "2025-01-01 09:31:00"}
    table = {"broker.account": account, "broker.orders": [ORDER_ROW, {**ORDER_ROW,
             "order_id": "stub-2", "status": "filled"}, {**ORDER_ROW, "order_id": "stub-3",
             "status": "partly_filled"}], "broker.trades": [trade],
             "broker.order_status": lambda f: ORDER_ROW if f["payload"].get("order_id") == "stub-1" else {},
             "broker.positions": account["value"]["positions"]}
    async with FakeServer(routes(table)) as srv:
        broker = await _broker(srv, make_config)
        try:
            assert (await broker.get_account_info())["account_id"] == "123"
            snap = await broker.account("main")
            assert snap.account_id == "123" and snap.available_cash == 5000.0
            assert snap.positions[0].closeable_amount == 100
            assert broker.accounts()[0].account_id == "123"
            assert [o["order_id"] for o in await broker.get_open_orders()] == ["stub-1", "stub-3"]
            trades = await broker.trades("main")
            assert trades[0].side is Side.BUY and trades[0].price == 10.0
            assert (await broker.order("main", "stub-1")).filled == 0
            assert await broker.order("main", "nope") is None
            await broker.get_orders(security="000001.XSHE")
            assert srv.received[-1]["payload"] == {"account_key": "main", "sub_account_id": None,
                                                  "security": "000001.XSHE"}
            await broker.get_order_status(idempotency_key="k-1")
            assert srv.received[-1]["payload"]["idempotency_key"] == "k-1"
            with pytest.raises(BadRequest):
                await broker.get_order_status()
        finally:
            await broker.connection.close()


async def test_order_events_reach_listeners(make_config) -> None:
    events: list[Any] = []
    got = asyncio.Event()

    async with FakeServer() as srv:
        broker = await _broker(srv, make_config)
        try:
            broker.add_listener(lambda e: (events.append(e), got.set()))
            await srv.sessions[0].event("order", ORDER_ROW, seq=1, account_key="main")
            await asyncio.wait_for(got.wait(), 2)
            assert isinstance(events[0], OrderUpdated)
            assert events[0].order.order_id == "stub-1"
        finally:
            await broker.connection.close()
