"""Every invalid input is a BAD_REQUEST naming the field; nothing reaches the backend."""

from __future__ import annotations

from typing import Any

import pytest
from handler_fakes import FakeBroker, FakeData, FakeSession, make_ctx, make_state

from bullet_trade.errors import BadRequest
from bullet_trade.model.enums import OrderStatus
from bullet_trade.server.handlers import build_action_table

NAN = float("nan")
INF = float("inf")
LIMIT = {"security": "000001.XSHE", "amount": 100, "style": {"type": "limit", "price": 10.0}}

CASES: list[tuple[str, dict[str, Any], str]] = [
    # data.history
    ("data.history", {}, "security"),
    ("data.history", {"security": 123}, "security"),
    ("data.history", {"security": "000001"}, "security"),
    ("data.history", {"security": "000001.XXXX"}, "security"),
    ("data.history", {"security": ["000001.XSHE", "bad"]}, "security[1]"),
    ("data.history", {"security": ["000001.XSHE", 5]}, "security[1]"),
    ("data.history", {"security": []}, "security"),
    ("data.history", {"security": "000001.XSHE", "count": 0}, "count"),
    ("data.history", {"security": "000001.XSHE", "count": -5}, "count"),
    ("data.history", {"security": "000001.XSHE", "count": 2.5}, "count"),
    ("data.history", {"security": "000001.XSHE", "count": True}, "count"),
    ("data.history", {"security": "000001.XSHE", "count": "10"}, "count"),
    ("data.history", {"security": "000001.XSHE", "count": INF}, "count"),
    ("data.history", {"security": "000001.XSHE", "count": 100_001}, "count"),
    ("data.history", {"security": "000001.XSHE", "count": 10**30}, "count"),
    # row budget: 30 codes x 100,000 bars, and 35 years of minute bars
    ("data.history", {"security": [f"{i:06d}.XSHE" for i in range(1, 31)], "count": 100_000},
     "count"),
    ("data.history", {"security": "000001.XSHE", "frequency": "1m", "start": "1990-01-01",
                      "end": "2025-01-01"}, "start"),
    ("data.history", {"security": "000001.XSHE", "period": "1m", "start_date": "1990-01-01",
                      "end_date": "2025-01-01"}, "start_date"),
    # neither count nor start: the whole history of 8 codes' minute bars is refused
    ("data.history", {"security": [f"{i:06d}.XSHE" for i in range(1, 9)], "frequency": "1m",
                      "count": None, "start": None}, "start"),
    ("data.history", {"security": "000001.XSHE", "frequency": "2h"}, "frequency"),
    ("data.history", {"security": "000001.XSHE", "period": "weekly"}, "period"),
    ("data.history", {"security": "000001.XSHE", "frequency": 1}, "frequency"),
    ("data.history", {"security": "000001.XSHE", "start": "2025-13-01"}, "start"),
    ("data.history", {"security": "000001.XSHE", "start_date": "01/02/2025"}, "start_date"),
    ("data.history", {"security": "000001.XSHE", "end": 20250101}, "end"),
    ("data.history", {"security": "000001.XSHE", "end_date": "2025-01-01 25:00:00"}, "end_date"),
    (
        "data.history",
        {"security": "000001.XSHE", "start": "2025-02-01", "end": "2025-01-01"},
        "end",
    ),
    ("data.history", {"security": "000001.XSHE", "fq": "both"}, "fq"),
    ("data.history", {"security": "000001.XSHE", "fields": "open,close"}, "fields"),
    ("data.history", {"security": "000001.XSHE", "fields": ["open", 3]}, "fields[1]"),
    ("data.history", {"security": "000001.XSHE", "fields": ["open", "nope"]}, "fields[1]"),
    ("data.history", {"security": "000001.XSHE", "panel": "yes"}, "panel"),
    ("data.history", {"security": "000001.XSHE", "skip_paused": 2}, "skip_paused"),
    # quotes, calendar, info
    ("data.snapshot", {}, "security"),
    ("data.snapshot", {"security": "abc"}, "security"),
    ("data.current_tick", {"stock": "600000"}, "stock"),
    ("data.live_current", {"security": ["000001.XSHE"]}, "security"),
    ("data.trade_days", {"count": 0}, "count"),
    ("data.trade_days", {"count": 1.5}, "count"),
    ("data.trade_days", {"start": "yesterday"}, "start"),
    ("data.trade_days", {"end_date": "2025/01/01"}, "end_date"),
    ("data.security_info", {"security": None}, "security"),
    # subscriptions
    ("data.subscribe", {"securities": ["000001.XSHE", "600000.XSHG", "foo", "x"]}, "securities[2]"),
    ("data.subscribe", {"securities": "000001"}, "securities"),
    ("data.subscribe", {"symbols": [1]}, "symbols[0]"),
    ("data.subscribe", {"securities": {"a": 1}}, "securities"),
    ("data.unsubscribe", {"securities": ["nope"]}, "securities[0]"),
    # broker queries
    ("broker.account", {"account_key": 5}, "account_key"),
    ("broker.orders", {"status": "weird"}, "status"),
    ("broker.orders", {"filters": {"status": "weird"}}, "filters.status"),
    ("broker.orders", {"filters": {"security": "zzz"}}, "filters.security"),
    ("broker.orders", {"filters": "open"}, "filters"),
    ("broker.orders", {"security": "1.XSHE"}, "security"),
    ("broker.trades", {"order_id": 1.5}, "order_id"),
    ("broker.order_status", {}, "order_id"),
    ("broker.order_status", {"order_id": None}, "order_id"),
    ("broker.order_status", {"order_id": ""}, "order_id"),
    ("broker.cancel_order", {}, "order_id"),
    ("broker.cancel_order", {"order_id": "o1", "wait_timeout": -1}, "wait_timeout"),
    ("broker.cancel_order", {"order_id": "o1", "wait_timeout": NAN}, "wait_timeout"),
    ("broker.cancel_order", {"order_id": "o1", "wait_timeout": "1"}, "wait_timeout"),
    ("admin.print_account", {"limit": -1}, "limit"),
    # place_order
    ("broker.place_order", {**LIMIT, "security": None}, "security"),
    ("broker.place_order", {**LIMIT, "security": "000001.SS"}, "security"),
    ("broker.place_order", {**LIMIT, "amount": None}, "amount"),
    ("broker.place_order", {**LIMIT, "amount": 0}, "amount"),
    ("broker.place_order", {**LIMIT, "amount": -100}, "amount"),
    ("broker.place_order", {**LIMIT, "amount": 100.5}, "amount"),
    ("broker.place_order", {**LIMIT, "amount": True}, "amount"),
    ("broker.place_order", {**LIMIT, "amount": NAN}, "amount"),
    ("broker.place_order", {**LIMIT, "amount": 1e12}, "amount"),
    ("broker.place_order", {**LIMIT, "amount": "100"}, "amount"),
    ("broker.place_order", {**LIMIT, "amount": None, "volume": -1}, "volume"),
    ("broker.place_order", {**LIMIT, "side": "HOLD"}, "side"),
    ("broker.place_order", {**LIMIT, "side": 1}, "side"),
    ("broker.place_order", {**LIMIT, "style": "limit"}, "style"),
    ("broker.place_order", {**LIMIT, "style": {"type": "stop"}}, "style.type"),
    ("broker.place_order", {**LIMIT, "style": {"type": "limit"}}, "style.price"),
    ("broker.place_order", {**LIMIT, "style": {"type": "limit", "price": 0}}, "style.price"),
    ("broker.place_order", {**LIMIT, "style": {"type": "limit", "price": -1}}, "style.price"),
    ("broker.place_order", {**LIMIT, "style": {"type": "limit", "price": INF}}, "style.price"),
    ("broker.place_order", {**LIMIT, "style": {"type": "limit", "price": "10"}}, "style.price"),
    (
        "broker.place_order",
        {**LIMIT, "style": {"type": "market", "protect_price": -2}},
        "style.protect_price",
    ),
    ("broker.place_order", {**LIMIT, "style": None, "price": NAN}, "price"),
    ("broker.place_order", {**LIMIT, "market": "yes"}, "market"),
    ("broker.place_order", {**LIMIT, "wait_timeout": -0.1}, "wait_timeout"),
    ("broker.place_order", {**LIMIT, "wait_timeout": 1e9}, "wait_timeout"),
    ("broker.place_order", {**LIMIT, "wait_timeout": False}, "wait_timeout"),
    ("broker.place_order", {**LIMIT, "order_remark": 7}, "order_remark"),
    ("broker.place_order", {**LIMIT, "remark": ["x"]}, "remark"),
    ("broker.place_order", {**LIMIT, "strategy_name": 1}, "strategy_name"),
    ("broker.place_order", {**LIMIT, "idempotency_key": 42}, "idempotency_key"),
    ("broker.place_order", {**LIMIT, "idempotency_key": "k" * 200}, "idempotency_key"),
]


@pytest.mark.parametrize(("action", "payload", "field"), CASES)
async def test_bad_request_names_the_field(
    action: str, payload: dict[str, Any], field: str
) -> None:
    broker, data = FakeBroker(), FakeData()
    state = make_state(data=data, broker=broker)
    table = build_action_table(state)
    broker.add_order("main", "o1", "000001.XSHE", OrderStatus.OPEN)
    session = FakeSession()
    with pytest.raises(BadRequest) as info:
        await table[action].handler(make_ctx(state, action, session), payload)
    assert info.value.field == field, info.value.message
    assert info.value.to_wire()["code"] == "BAD_REQUEST"
    assert broker.place_calls == [] and broker.cancel_calls == []
    assert session.symbols == set()


async def test_missing_order_id_keeps_the_v1_text() -> None:
    state = make_state(broker=FakeBroker())
    table = build_action_table(state)
    for action in ("broker.order_status", "broker.cancel_order"):
        with pytest.raises(BadRequest) as info:
            await table[action].handler(make_ctx(state), {"order_id": None})
        assert "缺少 order_id" in info.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-31", "2025-01-31 00:00:00"),
        ("2025-01-31 09:31:00", "2025-01-31 09:31:00"),
        ("20250131", "2025-01-31 00:00:00"),
        ("2025-01-31T09:31:00", "2025-01-31 09:31:00"),
    ],
)
async def test_accepted_date_forms(text: str, expected: str) -> None:
    data = FakeData()
    state = make_state(data=data)
    table = build_action_table(state)
    await table["data.history"].handler(make_ctx(state), {"security": "000001.XSHE", "end": text})
    assert str(data.queries[-1].end) == expected


async def test_nan_count_is_absent_and_null_means_not_given() -> None:
    data = FakeData()
    state = make_state(data=data)
    table = build_action_table(state)
    out = await table["data.trade_days"].handler(make_ctx(state), {"count": NAN, "start": None})
    assert data.trade_day_calls == [(None, None, None)]
    assert out["values"] == ["2025-01-02", "2025-01-03", "2025-01-06"]
    await table["data.history"].handler(
        make_ctx(state),
        {
            "security": "000001.XSHE",
            "count": NAN,
            "start": None,
            "end": None,
            "fields": None,
            "frequency": None,
            "panel": None,
            "skip_paused": None,
            "fill_paused": None,
        },
    )
    query = data.queries[-1]
    assert (query.count, query.start, query.frequency, query.fq) == (None, None, "1d", "pre")
