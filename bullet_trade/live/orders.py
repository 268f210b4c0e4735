"""The strategy's orders: JoinQuant ``Order`` objects kept in step with the broker.

Orders are keyed by the broker's order id. Orders refused before reaching the broker get a
``local-N`` id and status ``rejected``. Orders whose submission outcome is unknown keep status
``submit_unknown`` and are matched back by idempotency key on the next refresh, never
reported as rejected (they may exist at the broker).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from datetime import datetime

from bullet_trade.jq.objects import Order, OrderStyle, Trade
from bullet_trade.model.enums import OrderStatus, Side
from bullet_trade.model.records import BrokerEvent, OrderUpdated
from bullet_trade.model.records import Order as OrderRecord
from bullet_trade.model.records import Trade as TradeRecord

log = logging.getLogger(__name__)


def apply_record(order: Order, record: OrderRecord) -> None:
    """Copy the broker's view of an order onto the strategy's ``Order``."""
    order.order_id = record.order_id
    order.amount = record.amount
    order.filled = record.filled
    order.status = record.status
    order.order_price = record.order_price
    order.price = record.avg_fill_price if record.filled else (record.order_price or 0.0)
    order.commission = record.commission
    if record.reason or record.status_msg:
        order.reason = record.reason or record.status_msg


def trade_from_record(record: TradeRecord) -> Trade:
    return Trade(
        trade_id=record.trade_id, order_id=record.order_id, security=record.security.jq,
        amount=record.amount, price=record.price, time=record.time,
        commission=record.commission, tax=record.tax,
    )


class OrderBook:
    """Orders placed by one strategy on one account (all days) and the current day's subset."""

    def __init__(self, account_key: str) -> None:
        self.account_key = account_key
        self._orders: dict[str, Order] = {}
        self._today: list[Order] = []
        self._pending: dict[str, Order] = {}  # idempotency key -> order with unknown outcome
        self._local_ids = itertools.count(1)
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}

    def start_day(self) -> None:
        """A new trading day: ``get_orders`` starts empty again."""
        self._today = []

    def add_submitted(
        self, record: OrderRecord, style: OrderStyle | None, add_time: datetime
    ) -> Order:
        order = Order(
            order_id=record.order_id, security=record.security.jq, amount=record.amount,
            is_buy=record.side is Side.BUY, add_time=add_time, style=style,
        )
        apply_record(order, record)
        return self._keep(order)

    def add_refused(
        self, security: str, *, side: Side, amount: int, reason: str,
        style: OrderStyle | None, add_time: datetime,
    ) -> Order:
        order = Order(
            order_id=f"local-{next(self._local_ids)}", security=security, amount=amount,
            is_buy=side is Side.BUY, add_time=add_time, style=style,
            status=OrderStatus.REJECTED, reason=reason,
        )
        return self._keep(order)

    def add_unknown(
        self, security: str, *, side: Side, amount: int, key: str,
        style: OrderStyle | None, add_time: datetime,
    ) -> Order:
        order = Order(
            order_id=f"unknown-{key}", security=security, amount=amount,
            is_buy=side is Side.BUY, add_time=add_time, style=style,
            status=OrderStatus.SUBMIT_UNKNOWN, reason="submission outcome unknown",
        )
        self._pending[key] = order
        return self._keep(order)

    def _keep(self, order: Order) -> Order:
        self._orders[order.order_id] = order
        self._today.append(order)
        return order

    def apply(self, record: OrderRecord) -> bool:
        """Update the matching order from a broker record; False if it is not ours."""
        if record.account_key != self.account_key:
            return False
        order = self._orders.get(record.order_id)
        if order is None and record.idempotency_key in self._pending:
            order = self._pending.pop(record.idempotency_key)
            old = order.order_id  # re-key in place, keeping placement order
            self._orders = {record.order_id if k == old else k: v for k, v in self._orders.items()}
            log.info("order with unknown outcome found at the broker: %s", record.order_id)
        if order is None:
            return False
        apply_record(order, record)
        if not order.status.is_open:
            self._release(order.order_id)
        return True

    def final(self, order_id: str) -> asyncio.Future[None]:
        """A future resolved (on the event loop thread) as soon as a broker record applied to
        the book shows ``order_id`` in a final status; already resolved when it is final now.
        Pass it to :meth:`forget` when giving up."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        order = self._orders.get(order_id)
        if order is not None and not order.status.is_open:
            future.set_result(None)
        else:
            self._waiters.setdefault(order_id, []).append(future)
        return future

    def forget(self, order_id: str, future: asyncio.Future[None]) -> None:
        """Stop a wait started with :meth:`final` (cancels ``future``)."""
        future.cancel()
        waiting = self._waiters.get(order_id, [])
        if future in waiting:
            waiting.remove(future)
        if not waiting:
            self._waiters.pop(order_id, None)

    def _release(self, order_id: str) -> None:
        for future in self._waiters.pop(order_id, []):
            if not future.done():
                future.set_result(None)

    def on_event(self, event: BrokerEvent) -> None:
        """Broker listener: apply order updates (runs on the event loop thread)."""
        if isinstance(event, OrderUpdated):
            self.apply(event.order)

    def get(self, order_id: str) -> Order | None:
        return self._orders.get(order_id)

    def today(self) -> list[Order]:
        return list(self._today)

    def all(self) -> list[Order]:
        return list(self._orders.values())

    def owns(self, order_id: str) -> bool:
        return order_id in self._orders

    def sent_today(self) -> int:
        """Today's orders that reached (or may have reached) the broker: locally refused ones
        are not counted, orders with an unknown outcome are."""
        return sum(1 for o in self._today if not o.order_id.startswith("local-"))

    def at_broker(self, order: Order) -> bool:
        """Whether ``order`` has a broker id (it was not refused locally, outcome known)."""
        return not order.order_id.startswith(("local-", "unknown-"))

    def restore(self, record: OrderRecord) -> Order:
        """Re-adopt one of our orders found at the broker after a restart."""
        found = self._orders.get(record.order_id)
        if found is not None:
            apply_record(found, record)
            return found
        return self.add_submitted(record, None, record.created_at)
