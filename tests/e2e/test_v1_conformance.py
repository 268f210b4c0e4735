"""Black-box conformance of a real server (sim backend) against protocol.md section 10,
driven by a raw-socket client exactly as the published v1 clients speak.

Where we deliberately differ from the reference (docs/protocol-compat.md), the test asserts
our documented behaviour, never the reference quirk.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from e2e_kit import TOKEN, Running

from bullet_trade.testing.rawclient import RawClient


@pytest.fixture(params=["sim", "qmt-fake"])
def backend(request: pytest.FixtureRequest) -> str:
    """Every conformance test runs against the simulator and the qmt adapters on the fake."""
    return str(request.param)


async def call(raw: RawClient, rid: str, action: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    await raw.request(action, payload or {}, id=rid)
    return await raw.reply_to(rid)


async def test_t1_handshake_ack_shape(sim_server: Running) -> None:
    client = await RawClient.connect(sim_server.port)
    await client.send({"type": "handshake", "token": TOKEN, "protocol": 1, "features": []})
    ack = await client.recv()
    assert ack["type"] == "handshake_ack"
    assert re.fullmatch(r"s[0-9a-f]{12}", ack["session_id"])
    assert ack["keepalive"] == 20 and ack["protocol"] == 1
    assert ack["features"] == ["data", "broker"]
    await client.close()


async def test_t2_wrong_token_then_eof(sim_server: Running) -> None:
    client = await RawClient.connect(sim_server.port)
    await client.send({"type": "handshake", "token": "bad", "id": "h1"})
    frame = await client.recv()
    assert frame["type"] == "error" and frame["code"] == "AUTH_FAILED" and frame["id"] == "h1"
    assert frame["message"]
    await client.expect_eof()
    await client.close()


async def test_t4_t5_ping_and_unknown_type_keep_connection(raw: RawClient) -> None:
    await raw.send({"type": "ping", "id": "p1"})
    assert await raw.recv() == {"type": "pong", "id": "p1"}
    await raw.send({"type": "bogus", "id": "b1"})
    err = await raw.recv()
    assert err["code"] == "UNSUPPORTED" and err["id"] == "b1" and "bogus" in err["message"]
    await raw.send({"type": "ping", "id": "p2"})
    assert await raw.recv() == {"type": "pong", "id": "p2"}


async def test_t6_unknown_and_missing_action(raw: RawClient) -> None:
    err = await call(raw, "r2", "nope.x")
    assert err["type"] == "error" and err["code"] == "UNSUPPORTED" and "nope.x" in err["message"]
    await raw.send({"type": "request", "id": "r3", "payload": {}})
    err = await raw.reply_to("r3")
    assert err["code"] == "BAD_REQUEST" and err["field"] == "action"


async def test_t7_admin_health(raw: RawClient) -> None:
    resp = await call(raw, "r1", "admin.health")
    value = resp["payload"]["value"]
    assert resp["payload"]["dtype"] == "dict"
    assert value["process_alive"] is True and value["uptime_seconds"] >= 0
    assert value["sessions"] >= 1 and value["accounts"] == ["main", "hedge"]
    assert value["features"] == ["data", "broker"]


async def test_t8_request_without_id_gets_no_response(raw: RawClient) -> None:
    await raw.send({"type": "request", "action": "admin.health", "payload": {}})
    await raw.send({"type": "ping", "id": "p1"})
    assert await raw.recv() == {"type": "pong", "id": "p1"}


async def test_t9_trade_days(raw: RawClient) -> None:
    resp = await call(raw, "r6", "data.trade_days", {"count": 2})
    assert resp["payload"] == {"dtype": "list", "values": ["2026-11-23", "2026-11-24"]}


async def test_account_and_positions_shapes(raw: RawClient) -> None:
    resp = await call(raw, "a1", "broker.account", {"account_key": "hedge"})
    payload = resp["payload"]
    assert payload["dtype"] == "dict"
    assert payload["value"]["account_id"] == "222" and payload["account_id"] == "222"
    assert payload["value"]["available_cash"] == 1_000_000.0
    positions = await call(raw, "a2", "broker.positions", {"account_key": "hedge"})
    assert positions["payload"] == []


async def test_unknown_account_is_an_error_not_a_fallback(raw: RawClient) -> None:
    err = await call(raw, "u1", "broker.account", {"account_key": "typo"})
    assert err["code"] == "UNKNOWN_ACCOUNT" and err["field"] == "account_key"


async def test_market_buy_fills_and_t_plus_one(raw: RawClient) -> None:
    order = {"account_key": "main", "security": "000001.XSHE", "side": "BUY", "amount": 100,
             "style": {"type": "market"}, "market": True, "wait_timeout": 1.0}
    resp = await call(raw, "o1", "broker.place_order", order)
    placed = resp["payload"]
    assert placed["status"] == "filled" and placed["filled"] == 100 and placed["timed_out"] is False
    positions = (await call(raw, "o2", "broker.positions", {"account_key": "main"}))["payload"]
    assert [(p["security"], p["amount"], p["closeable_amount"]) for p in positions] == [
        ("000001.XSHE", 100, 0)
    ]
    trades = (await call(raw, "o3", "broker.trades", {"account_key": "main"}))["payload"]
    assert trades[0]["order_id"] == placed["order_id"] and trades[0]["amount"] == 100


async def _resting_limit(raw: RawClient, rid: str, key: str, amount: int = 100) -> dict[str, Any]:
    live = (await call(raw, rid + "q", "data.live_current", {"security": "000001.XSHE"}))["payload"]
    price = round(live["low_limit"] + 0.01, 2)  # inside the limits, far below the market
    payload = {"account_key": "main", "security": "000001.XSHE", "side": "BUY", "amount": amount,
               "style": {"type": "limit", "price": price}, "idempotency_key": key,
               "wait_timeout": 0}
    return await call(raw, rid, "broker.place_order", payload)


async def test_t12_idempotent_place_order(raw: RawClient) -> None:
    first = (await _resting_limit(raw, "r11", "k1"))["payload"]
    assert first["order_id"] and first["status"] == "open" and first["amount"] == 100
    again = (await _resting_limit(raw, "r12", "k1"))["payload"]
    assert again["order_id"] == first["order_id"]
    orders = (await call(raw, "r12o", "broker.orders", {"account_key": "main"}))["payload"]
    assert len(orders) == 1
    conflict = await _resting_limit(raw, "r13", "k1", amount=200)
    assert conflict["code"] == "IDEMPOTENCY_CONFLICT"
    assert "idempotency_key" in conflict["message"] and "k1" in conflict["message"]


async def test_t13_cancel_waits_for_terminal_state(raw: RawClient) -> None:
    placed = (await _resting_limit(raw, "c0", "kc"))["payload"]
    resp = await call(raw, "c1", "broker.cancel_order",
                      {"account_key": "main", "order_id": placed["order_id"]})
    payload = resp["payload"]
    assert payload["dtype"] == "dict" and payload["value"] is True and payload["timed_out"] is False
    assert payload["status"] == "canceled" and payload["raw_status"] == 54
    assert payload["last_snapshot"]["order_id"] == placed["order_id"]
    status = await call(raw, "c2", "broker.order_status",
                        {"account_key": "main", "order_id": placed["order_id"]})
    assert status["payload"]["status"] == "canceled"
    assert status["payload"]["security"] == "000001.XSHE"  # JQ code everywhere (W-P11 fixed)
    again = await call(raw, "c3", "broker.cancel_order",
                       {"account_key": "main", "order_id": placed["order_id"]})
    assert again["payload"]["value"] is False


async def test_t14_missing_order_id(raw: RawClient) -> None:
    err = await call(raw, "q4", "broker.cancel_order", {})
    assert err["code"] == "BAD_REQUEST" and err["field"] == "order_id"
    assert "缺少 order_id" in err["message"]


async def test_t16_malformed_json_answered_and_connection_kept(raw: RawClient) -> None:
    await raw.send_body(b"{bad")
    err = await raw.recv()
    assert err["type"] == "error" and err["code"] == "BAD_REQUEST"
    await raw.send({"type": "ping", "id": "p9"})
    assert await raw.recv() == {"type": "pong", "id": "p9"}


async def test_t17_nan_count_accepted(raw: RawClient) -> None:
    await raw.send_body(b'{"type":"request","id":"n1","action":"data.trade_days","payload":{"count":NaN}}')
    resp = await raw.reply_to("n1")
    assert resp["type"] == "response" and isinstance(resp["payload"]["values"], list)


async def test_order_rejections_carry_reason(raw: RawClient) -> None:
    bad_lot = {"account_key": "main", "security": "000001.XSHE", "side": "BUY", "amount": 150,
               "style": {"type": "market"}}
    err = await call(raw, "x1", "broker.place_order", bad_lot)
    assert err["code"] == "ORDER_REJECTED" and err["reason"] == "bad_lot"
    bad_code = {**bad_lot, "amount": 100, "security": "ABC"}
    err = await call(raw, "x2", "broker.place_order", bad_code)
    assert err["code"] == "BAD_REQUEST" and err["field"] == "security"


async def test_history_carries_timestamps(raw: RawClient) -> None:
    resp = await call(raw, "h1", "data.history",
                      {"security": "600000.XSHG", "count": 3, "frequency": "1d", "fields": ["close"]})
    payload = resp["payload"]
    assert payload["dtype"] == "dataframe" and payload["columns"] == ["time", "close"]
    assert [r[0] for r in payload["records"]] == [
        "2026-11-20 00:00:00", "2026-11-23 00:00:00", "2026-11-24 00:00:00"]
    assert payload["index_columns"] == ["time"] and payload["index_type"] == "DatetimeIndex"
    assert all(isinstance(r[1], float) and r[1] > 0 for r in payload["records"])


async def test_snapshot_live_current_and_security_info(raw: RawClient) -> None:
    snap = (await call(raw, "s1", "data.snapshot", {"security": "000001.SZ"}))["payload"]
    assert snap["sid"] == "000001.XSHE" and snap["last_price"] > 0
    assert snap["dt"].startswith("2026-11-24 10:00")
    live = (await call(raw, "s2", "data.live_current", {"security": "600000.XSHG"}))["payload"]
    assert live["low_limit"] < live["last_price"] < live["high_limit"] and live["paused"] is False
    info = (await call(raw, "s3", "data.security_info", {"security": "510300.XSHG"}))["payload"]
    assert info["dtype"] == "dict" and info["value"]["type"] == "etf"
    assert info["code"] == "510300.XSHG" and info["qmt_code"] == "510300.SH"
    err = await call(raw, "s4", "data.snapshot", {"security": "12345"})
    assert err["code"] == "BAD_REQUEST" and err["field"] == "security"


async def test_health_reports_backend_readiness(raw: RawClient, backend: str) -> None:
    value = (await call(raw, "hr", "admin.health"))["payload"]["value"]
    assert value["backend"]["ready"] is True
    if backend == "qmt-fake":  # the qmt adapters report their parts
        assert value["backend"]["broker"]["accounts"] == {
            "main": {"subscribed": True}, "hedge": {"subscribed": True}}
        assert value["backend"]["data"]["ready"] is True
