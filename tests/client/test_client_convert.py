from __future__ import annotations

from datetime import datetime

import pytest

from bullet_trade.client.convert import (
    account_from_wire,
    order_from_wire,
    parse_datetime,
    position_from_wire,
    quote_from_wire,
    trade_from_wire,
    unwrap_value,
)
from bullet_trade.client.orders import cancel_accepted
from bullet_trade.errors import InternalError
from bullet_trade.model.codes import parse_security
from bullet_trade.model.enums import OrderStatus, Side


def test_order_tolerates_v1_spellings() -> None:
    row = {"order_id": 7, "security": "000001.SZ", "amount": 300, "traded_volume": 100,
           "traded_price": 10.2, "order_price": 10.3, "status": "partly_filled",
           "order_type": 24, "raw_status": 55, "order_remark": "x", "order_time": 1735781400}
    order = order_from_wire(row, account_key="main")
    assert order.order_id == "7" and order.security.jq == "000001.XSHE"
    assert order.side is Side.SELL and order.filled == 100 and order.avg_fill_price == 10.2
    assert order.status is OrderStatus.FILLING and order.raw_status == 55
    assert order.remark == "x" and order.created_at == datetime.fromtimestamp(1735781400)


@pytest.mark.parametrize("status,expected", [
    ("cancelled", OrderStatus.CANCELED), ("failed", OrderStatus.REJECTED),
    ("weird", OrderStatus.OPEN), (None, OrderStatus.OPEN),
])
def test_order_status_spellings(status: str | None, expected: OrderStatus) -> None:
    row = {"order_id": "1", "security": "600000.XSHG", "status": status, "is_buy": True}
    assert order_from_wire(row, account_key="a").status is expected


def test_raw_status_used_when_status_missing() -> None:
    row = {"order_id": "1", "security": "600000.XSHG", "raw_status": 56}
    assert order_from_wire(row, account_key="a").status is OrderStatus.FILLED


@pytest.mark.parametrize("row,field", [
    ({"security": "600000.XSHG"}, "order_id"),
    ({"order_id": "1"}, "security"),
    ({"order_id": "1", "security": "bogus"}, "security"),
])
def test_order_requires_identity(row: dict, field: str) -> None:
    with pytest.raises(InternalError) as info:
        order_from_wire(row, account_key="a")
    assert info.value.field == field


def test_trade_side_from_order_map() -> None:
    row = {"trade_id": "t", "order_id": "o", "security": "000001.XSHE", "amount": 100,
           "traded_price": 9.9, "time": "2025-01-01 09:31:00"}
    trade = trade_from_wire(row, account_key="a", sides={"o": Side.SELL})
    assert trade.side is Side.SELL and trade.price == 9.9
    assert trade.time == datetime(2025, 1, 1, 9, 31)


def test_position_and_account_value_first() -> None:
    pos = position_from_wire({"security": "000001.XSHE", "amount": 100, "last_price": float("nan"),
                              "market_value": 1000.0})
    assert pos.last_price == 10.0 and pos.closeable_amount == 100
    flat = {"dtype": "dict", "value": {"account_id": "1", "available_cash": 5.0}, "account_id": "x"}
    assert account_from_wire(flat, account_key="k").account_id == "1"
    top = {"dtype": "dict", "account_id": "2", "cash": 7.0}
    assert unwrap_value(top) == {"account_id": "2", "cash": 7.0}
    assert account_from_wire(top, account_key="k").available_cash == 7.0


def test_quote_merges_live_and_snapshot() -> None:
    quote = quote_from_wire(parse_security("000001.XSHE"), {"last_price": 10.0, "paused": True},
                            {"sid": "000001.XSHE", "last_price": 9.0, "dt": "2026-04-01T09:30:00"})
    assert quote.last_price == 10.0 and quote.paused and quote.high_limit == 10.0
    assert quote.dt == datetime(2026, 4, 1, 9, 30)


def test_parse_datetime_forms() -> None:
    assert parse_datetime("20250102") == datetime(2025, 1, 2)
    assert parse_datetime("2025-01-02 09:30:00") == datetime(2025, 1, 2, 9, 30)
    assert parse_datetime(None) is None and parse_datetime("nope") is None


def test_cancel_reply_rules() -> None:
    assert cancel_accepted({"dtype": "dict", "value": False}) is False
    assert cancel_accepted({"value": None, "success": False}) is False
    assert cancel_accepted({"value": None}) is True
    assert cancel_accepted({"value": {"x": 1}}) is True
