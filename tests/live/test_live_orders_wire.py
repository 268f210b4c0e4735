"""Orders with an unknown submission outcome are matched back over the wire by idempotency key.

The server serialises order rows (``broker.orders``) and order events with
``Order.to_wire()``; the client converts them with ``order_from_wire``. The key must survive
that round trip, or the strategy's ``submit_unknown`` order is never resolved.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from bullet_trade.client.convert import order_from_wire
from bullet_trade.jq.objects import Order
from bullet_trade.live.orders import OrderBook
from bullet_trade.model.codes import parse_security
from bullet_trade.model.enums import OrderStatus, OrderType, Side
from bullet_trade.model.records import Order as OrderRecord
from bullet_trade.model.records import OrderUpdated

NOW = datetime(2024, 1, 2, 10, 0)


def _server_order(status: OrderStatus, filled: int = 0, key: str | None = "k-1") -> OrderRecord:
    return OrderRecord(
        order_id="B7", account_key="main", security=parse_security("000001.XSHE"),
        side=Side.BUY, order_type=OrderType.LIMIT, amount=100, status=status, raw_status=50,
        order_price=10.0, created_at=NOW, filled=filled, avg_fill_price=10.0 if filled else 0.0,
        idempotency_key=key,
    )


def _over_the_wire(record: OrderRecord) -> OrderRecord:
    return order_from_wire(record.to_wire(), account_key="main")


def test_to_wire_carries_the_key_only_when_known() -> None:
    assert _server_order(OrderStatus.OPEN).to_wire()["idempotency_key"] == "k-1"
    assert "idempotency_key" not in _server_order(OrderStatus.OPEN, key=None).to_wire()
    assert _over_the_wire(_server_order(OrderStatus.OPEN)).idempotency_key == "k-1"


def _unknown(book: OrderBook) -> Order:
    return book.add_unknown("000001.XSHE", side=Side.BUY, amount=100, key="k-1", style=None,
                            add_time=NOW)


def test_broker_orders_row_resolves_the_unknown_order() -> None:
    book = OrderBook("main")
    order = _unknown(book)
    assert order.status is OrderStatus.SUBMIT_UNKNOWN
    assert book.apply(_over_the_wire(_server_order(OrderStatus.OPEN)))
    assert order.order_id == "B7" and order.status is OrderStatus.OPEN
    assert book.get("B7") is order and book.at_broker(order)
    # later rows/events match by broker id
    assert book.apply(_over_the_wire(_server_order(OrderStatus.FILLED, filled=100)))
    assert (order.status, order.filled) == (OrderStatus.FILLED, 100)


async def test_order_event_resolves_the_unknown_order_and_its_wait() -> None:
    book = OrderBook("main")
    order = _unknown(book)
    book.on_event(OrderUpdated(order=_over_the_wire(_server_order(OrderStatus.OPEN))))
    assert order.order_id == "B7"
    final = book.final("B7")
    assert not final.done()
    book.on_event(OrderUpdated(order=_over_the_wire(_server_order(OrderStatus.FILLED, 100))))
    await asyncio.wait_for(final, 1)
    assert (order.status, order.filled, [o.order_id for o in book.today()]) == (
        OrderStatus.FILLED, 100, ["B7"])


@pytest.mark.parametrize("key", [None, "other"])
def test_rows_without_our_key_are_not_adopted(key: str | None) -> None:
    book = OrderBook("main")
    order = _unknown(book)
    assert not book.apply(_over_the_wire(_server_order(OrderStatus.OPEN, key=key)))
    assert order.status is OrderStatus.SUBMIT_UNKNOWN
