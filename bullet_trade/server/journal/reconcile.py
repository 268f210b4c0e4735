"""Settling intents whose outcome was never recorded (crash, timeout, backend failure).

An unsettled intent is matched against the broker's orders of its account, by the
idempotency key the backend kept on the order or by the remark tag the server wrote into
``order_remark`` (:func:`~bullet_trade.server.journal.codec.remark_tag`):

* found → ``submitted`` with that order;
* not found, the broker answered → the order never reached the broker: ``rejected`` with
  reason ``not_submitted``. It is never re-sent silently; the client decides (a new key);
* the broker did not answer → still unknown (tried again later).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bullet_trade.errors import OrderRejected
from bullet_trade.model.records import Order
from bullet_trade.server.journal.codec import order_matches
from bullet_trade.server.journal.db import REJECTED, SUBMITTED, UNKNOWN, IntentRow

log = logging.getLogger("bullet_trade.server.orders")

OrdersSource = Callable[[str], Awaitable[list[Order]]]

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


async def reconcile_intent(
    orders: OrdersSource, row: IntentRow
) -> tuple[str, Order | None, OrderRejected | None]:
    """Decide the state of one unsettled intent.

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
            log.info(
                "reconciled / 对账: account=%s key=%s -> order_id=%s status=%s",
                row.account_key, row.idem_key, order.order_id, order.status.value,
            )
            return SUBMITTED, order, None
    log.warning(
        "reconciled / 对账: account=%s key=%s was never submitted (not found at the broker)",
        row.account_key, row.idem_key,
    )
    return REJECTED, None, not_submitted(row.idem_key)
