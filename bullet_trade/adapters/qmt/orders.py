"""Order helpers of the QMT broker: the remark token, pre-submission checks, the
acknowledged-but-not-yet-pushed snapshot."""

from __future__ import annotations

import hashlib
from datetime import datetime

from bullet_trade.errors import OrderRejected
from bullet_trade.model.enums import OrderStatus, Side
from bullet_trade.model.records import Order, PlaceOrder
from bullet_trade.model.rules import is_on_tick, is_tradable, is_valid_buy_amount

#: Longest ``order_remark`` sent (counters may cut longer remarks).
REMARK_MAX = 24


def legacy_token(text: str) -> str:
    """``text`` when it fits in :data:`REMARK_MAX`, else ``bt`` + 20 hex digits of its hash.

    The remark older versions sent for an idempotency key; kept so reconciliation can still
    recognise orders placed that way (see ``journal.codec.order_matches``).
    """
    if len(text) <= REMARK_MAX:
        return text
    return "bt" + hashlib.blake2b(text.encode("utf-8"), digest_size=10).hexdigest()


def remark_token(command: PlaceOrder) -> str:
    """The ``order_remark`` for ``command``.

    The command's own remark (cut to :data:`REMARK_MAX`) when it has one: the server builds it
    starting with its reconciliation tag, which must reach the counter intact so the order can
    be found after a restart. Without a remark, :func:`legacy_token` of the idempotency key.
    """
    if command.remark:
        return command.remark[:REMARK_MAX]
    return legacy_token(command.idempotency_key or "")


def precheck(command: PlaceOrder) -> None:
    """Refuse what the counter would junk anyway (indices, buy lots, off-tick limit prices)."""
    security = command.security
    if not is_tradable(security):
        raise OrderRejected(f"{security} is an index and cannot be traded", reason="not_tradable")
    if command.side is Side.BUY and not is_valid_buy_amount(security, command.amount):
        raise OrderRejected(f"{command.amount} is not a valid buy quantity", reason="bad_lot")
    if command.price is not None and not is_on_tick(security, command.price):
        raise OrderRejected(f"price {command.price} is off the tick", reason="bad_tick")


def submitted(
    command: PlaceOrder, account_key: str, order_id: str, remark: str, now: datetime
) -> Order:
    """Snapshot of an order the counter acknowledged but has not pushed yet."""
    return Order(
        order_id=order_id, account_key=account_key, security=command.security,
        side=command.side, order_type=command.order_type, amount=command.amount,
        status=OrderStatus.SUBMITTED, raw_status=49, order_price=command.price,
        created_at=now.replace(microsecond=0), remark=remark,
        strategy_name=command.strategy_name, idempotency_key=command.idempotency_key,
    )
