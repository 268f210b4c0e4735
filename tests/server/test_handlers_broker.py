"""Broker queries and account selection (protocol.md 5.4.1-5.4.6, W5 fixed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from handler_fakes import FakeBroker, FakeSession, make_ctx, make_state

from bullet_trade.errors import UnknownAccount, Unsupported
from bullet_trade.model.codes import parse_security
from bullet_trade.model.enums import OrderStatus, Side
from bullet_trade.model.records import AccountConfig, Position, Trade
from bullet_trade.server.context import RequestContext, ServerState
from bullet_trade.server.handlers import build_action_table


@pytest.fixture
def broker() -> FakeBroker:
    fake = FakeBroker()
    fake.position_rows = [
        Position(
            security=parse_security("600000.XSHG"),
            amount=1000,
            closeable_amount=600,
            avg_cost=8.0,
            last_price=8.5,
            name="浦发银行",
        ),
    ]
    fake.add_order("main", "o1", "000001.XSHE", OrderStatus.OPEN)
    fake.add_order("main", "o2", "600000.XSHG", OrderStatus.FILLED)
    fake.add_order("main", "o3", "600000.XSHG", OrderStatus.CANCELED)
    fake.add_order("hedge", "h1", "000001.XSHE", OrderStatus.OPEN)
    fake.trade_rows = [
        Trade(
            trade_id="t1",
            order_id="o2",
            account_key="main",
            security=parse_security("600000.XSHG"),
            side=Side.BUY,
            amount=100,
            price=8.4,
            time=datetime(2025, 1, 2, 9, 31),
        ),
        Trade(
            trade_id="t2",
            order_id="o9",
            account_key="main",
            security=parse_security("000001.XSHE"),
            side=Side.SELL,
            amount=200,
            price=10.1,
            time=datetime(2025, 1, 2, 9, 35),
        ),
    ]
    return fake


@pytest.fixture
def state(broker: FakeBroker) -> ServerState:
    return make_state(broker=broker)


async def call(
    state: ServerState, action: str, payload: dict[str, Any], session: FakeSession | None = None
) -> tuple[Any, RequestContext]:
    ctx = make_ctx(state, action, session)
    return await build_action_table(state)[action].handler(ctx, payload), ctx


@pytest.mark.parametrize(
    ("payload", "session", "expected"),
    [
        ({}, None, "main"),  # nothing named: the first configured account
        ({"account_key": None, "sub_account_id": None}, None, "main"),  # 0.10 client nulls
        ({"account_key": "hedge"}, None, "hedge"),
        ({"account_key": "default"}, None, "main"),  # v1 alias
        ({"account_key": "  "}, "hedge", "hedge"),  # blank = not given → session default
        ({}, "hedge", "hedge"),
        ({"account_key": "main"}, "hedge", "main"),  # the request wins over the session
    ],
)
async def test_account_resolution(
    state: ServerState, payload: dict[str, Any], session: str | None, expected: str
) -> None:
    out, ctx = await call(state, "broker.account", payload, FakeSession(account_key=session))
    assert out["account_key"] == expected and ctx.account_key == expected
    assert out["account_id"] == {"main": "111", "hedge": "222"}[expected]


@pytest.mark.parametrize(
    ("payload", "session", "field"),
    [
        ({"account_key": "mian"}, None, "account_key"),
        ({}, "ghost", "account_key"),
        ({"sub_account_id": "demo"}, None, "sub_account_id"),
        ({"sub_account_id": "demo@main"}, None, "sub_account_id"),
        ({}, None, "sub_account_id"),  # from the handshake (session built below)
    ],
)
async def test_unknown_account_never_falls_back(
    state: ServerState, broker: FakeBroker, payload: dict[str, Any], session: str | None, field: str
) -> None:
    handle = FakeSession(
        account_key=session, sub_account_id="demo" if payload == {} and session is None else None
    )
    for action in (
        "broker.account",
        "broker.positions",
        "broker.orders",
        "broker.place_order",
        "broker.cancel_order",
        "admin.print_account",
    ):
        with pytest.raises(UnknownAccount) as info:
            await call(
                state,
                action,
                {
                    **payload,
                    "order_id": "o1",
                    "security": "000001.XSHE",
                    "amount": 100,
                    "price": 10.0,
                },
                handle,
            )
        assert info.value.field == field and info.value.code == "UNKNOWN_ACCOUNT"
    assert broker.place_calls == [] and broker.cancel_calls == []


async def test_default_is_a_real_account_when_configured() -> None:
    broker = FakeBroker(
        accounts=(
            AccountConfig(key="main", account_id="1"),
            AccountConfig(key="default", account_id="2"),
        )
    )
    state = make_state(broker=broker)
    out, _ = await call(state, "broker.account", {"account_key": "default"})
    assert out["account_id"] == "2"


async def test_no_accounts_configured() -> None:
    state = make_state(broker=FakeBroker(accounts=()))
    with pytest.raises(UnknownAccount, match="no trading account"):
        await call(state, "broker.positions", {})


async def test_broker_disabled() -> None:
    state = make_state(broker=None)
    with pytest.raises(Unsupported):
        await call(state, "broker.account", {})


async def test_account_envelope_is_flattened(state: ServerState) -> None:
    out, _ = await call(state, "broker.account", {})
    assert out["dtype"] == "dict"
    for key in (
        "account_id",
        "account_type",
        "available_cash",
        "transferable_cash",
        "frozen_cash",
        "market_value",
        "positions",
        "total_value",
        "total_asset",
    ):
        assert out[key] == out["value"][key]
    assert out["available_cash"] == 90_000.0 and out["market_value"] == 8500.0
    assert out["total_value"] == 90_000.0 + 1_000.0 + 8500.0
    assert out["positions"][0]["security"] == "600000.XSHG"


async def test_positions_bare_list(state: ServerState) -> None:
    out, _ = await call(state, "broker.positions", {"account_key": "main"})
    assert isinstance(out, list) and len(out) == 1
    row = out[0]
    assert (
        row["security"],
        row["amount"],
        row["closeable_amount"],
        row["avg_cost"],
        row["current_price"],
        row["market_value"],
        row["name"],
    ) == ("600000.XSHG", 1000, 600, 8.0, 8.5, 8500.0, "浦发银行")


async def test_orders_filters(state: ServerState) -> None:
    all_rows, _ = await call(state, "broker.orders", {})
    assert [r["order_id"] for r in all_rows] == ["o1", "o2", "o3"]
    assert {
        "order_id",
        "security",
        "amount",
        "filled",
        "price",
        "order_price",
        "status",
        "raw_status",
        "order_type",
        "is_buy",
        "order_remark",
        "strategy_name",
        "order_sysid",
        "status_msg",
        "price_type",
        "order_time",
    } <= set(all_rows[0])
    by_security, _ = await call(state, "broker.orders", {"security": "600000.SH"})
    assert [r["order_id"] for r in by_security] == ["o2", "o3"]
    nested, _ = await call(
        state, "broker.orders", {"filters": {"status": "cancelled", "security": "600000.XSHG"}}
    )
    assert [r["order_id"] for r in nested] == ["o3"]
    by_id, _ = await call(state, "broker.orders", {"order_id": "o2", "filters": None})
    assert [r["status"] for r in by_id] == ["filled"]
    other, _ = await call(state, "broker.orders", {"account_key": "hedge"})
    assert [r["order_id"] for r in other] == ["h1"]


async def test_trades_filters(state: ServerState) -> None:
    rows, _ = await call(state, "broker.trades", {})
    assert [r["trade_id"] for r in rows] == ["t1", "t2"]
    assert rows[0]["time"] == "2025-01-02 09:31:00" and rows[0]["deal_balance"] == 840.0
    assert [r["trade_id"] for r in (await call(state, "broker.trades", {"order_id": "o9"}))[0]] == [
        "t2"
    ]
    assert [
        r["trade_id"]
        for r in (await call(state, "broker.trades", {"filters": {"security": "600000.SH"}}))[0]
    ] == ["t1"]


async def test_order_status(state: ServerState) -> None:
    row, ctx = await call(state, "broker.order_status", {"order_id": "o1"})
    assert row["order_id"] == "o1" and row["security"] == "000001.XSHE"  # JQ code (W-P11 fixed)
    assert (row["status"], row["raw_status"]) == ("open", 50)
    assert ctx.account_key == "main"
    assert (await call(state, "broker.order_status", {"order_id": "nope"}))[0] == {}
    assert (await call(state, "broker.order_status", {"order_id": "h1"}))[
        0
    ] == {}  # another account's
    numeric, _ = await call(state, "broker.order_status", {"order_id": 12345})
    assert numeric == {}
