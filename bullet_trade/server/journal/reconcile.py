"""Settling intents whose outcome was never recorded (crash, timeout, backend failure).

An unsettled intent is matched against the broker's orders of its account, by the
idempotency key the backend kept on the order or by the remark tag the server wrote into
``order_remark`` (:func:`~bullet_trade.server.journal.codec.remark_tag`):

* found → ``submitted`` with that order;
* not found, the broker answered → the order never reached the broker: ``rejected`` with
  reason ``not_submitted``. It is never re-sent silently; the client decides (a new key);
* the broker did not answer → still unknown (tried again later).

The broker lists only *today's* orders. An intent created on an earlier trading day that is
not among them may still exist (even filled), so it is never declared ``not_submitted``: it
is looked up by its broker order id when one is known, else it stays ``unknown`` with a
WARNING asking for a manual review (the client is never told to re-send it).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime

from bullet_trade.errors import OrderRejected
from bullet_trade.model.clock import CHINA_TZ
from bullet_trade.model.records import Order
from bullet_trade.server.journal.codec import order_matches
from bullet_trade.server.journal.db import REJECTED, SUBMITTED, UNKNOWN, IntentRow

log = logging.getLogger("bullet_trade.server.orders")

OrdersSource = Callable[[str], Awaitable[list[Order]]]
#: ``(account_key, order_id) → order`` (``broker.order``), any trading day the broker keeps.
OrderLookup = Callable[[str, str], Awaitable[Order | None]]

#: ``reason`` of the rejection recorded for an intent that never reached the broker.
NOT_SUBMITTED = "not_submitted"


def not_submitted(key: str) -> OrderRejected:
    return OrderRejected(
        f"the order with idempotency_key {key!r} never reached the broker (interrupted before "
        "submission); it was not placed. Place it again with a new idempotency_key "
        "(委托未送达券商, 未下单)",
        reason=NOT_SUBMITTED,
        details={"idempotency_key": key},
    )


def intent_day(row: IntentRow) -> date:
    """The trading day an intent was created on (``created_at`` in China time for rows that
    predate the ``trading_day`` column)."""
    if row.trading_day:
        return date.fromisoformat(row.trading_day)
    return datetime.fromtimestamp(row.created_at, CHINA_TZ).date()


async def reconcile_intent(
    orders: OrdersSource,
    row: IntentRow,
    *,
    today: date | None = None,
    lookup: OrderLookup | None = None,
) -> tuple[str, Order | None, OrderRejected | None]:
    """Decide the state of one unsettled intent.

    Args:
        orders: today's orders of an account.
        row: the unsettled intent.
        today: the server's current trading day; an intent of an earlier day missing from
            today's orders is never settled ``not_submitted`` (see the module docstring).
        lookup: ``broker.order`` for such an intent with a known order id.

    Returns:
        ``(SUBMITTED, order, None)``, ``(REJECTED, None, error)`` or ``(UNKNOWN, None, None)``.
    """
    try:
        candidates = await orders(row.account_key)
    except Exception:  # I/O boundary: the broker did not answer; try again later
        log.exception("reconcile %s/%s: cannot list broker orders", row.account_key, row.idem_key)
        return UNKNOWN, None, None
    for order in candidates:
        if order_matches(order, row.remark_tag, row.idem_key):
            return _found(row, order)
    if today is not None and intent_day(row) < today:
        return await _earlier_day(row, lookup)
    log.warning(
        "reconciled / 对账: account=%s key=%s was never submitted (not found at the broker)",
        row.account_key, row.idem_key,
    )
    return REJECTED, None, not_submitted(row.idem_key)


def _found(row: IntentRow, order: Order) -> tuple[str, Order | None, OrderRejected | None]:
    log.info(
        "reconciled / 对账: account=%s key=%s -> order_id=%s status=%s",
        row.account_key, row.idem_key, order.order_id, order.status.value,
    )
    return SUBMITTED, order, None


async def _earlier_day(
    row: IntentRow, lookup: OrderLookup | None
) -> tuple[str, Order | None, OrderRejected | None]:
    """An intent of an earlier trading day not among today's orders: by order id, else
    unknown (manual review)."""
    if row.order_id and lookup is not None:
        try:
            order = await lookup(row.account_key, row.order_id)
        except Exception:  # I/O boundary: the broker did not answer; try again later
            log.exception("reconcile %s/%s: cannot look up order %s", row.account_key,
                          row.idem_key, row.order_id)
            return UNKNOWN, None, None
        if order is not None:
            return _found(row, order)
    log.warning(
        "reconcile / 对账: account=%s key=%s (order_id=%s) was created on %s, an earlier "
        "trading day, and is not among today's broker orders; it may have been placed (and "
        "filled). Left unknown: review it manually at the broker (需人工核对)",
        row.account_key, row.idem_key, row.order_id, intent_day(row).isoformat(),
    )
    return UNKNOWN, None, None
