"""Order submission over the wire: payload shape, reply checks and the only safe retry.

Safety rules (defects W-O1, W-O3 of the published client):

* every ``broker.place_order`` carries an ``idempotency_key``;
* it is re-sent only after ``ConnectionLost``, with the *same* key, a bounded number of times;
* an error reply is never retried;
* a timeout (client side, or the server's ``REQUEST_TIMEOUT``) raises ``SubmitUnknown``
  carrying the key, so the caller can query ``broker.order_status`` by key.
"""

from __future__ import annotations

import logging
import math
from typing import Any, NoReturn
from uuid import uuid4

from bullet_trade.client.connection import AsyncConnection
from bullet_trade.client.convert import status_from_wire
from bullet_trade.errors import (
    BadRequest,
    BulletTradeError,
    ConnectionLost,
    OrderRejected,
    RequestTimeout,
    SubmitUnknown,
)
from bullet_trade.model.codes import parse_security
from bullet_trade.model.enums import OrderStatus, Side

log = logging.getLogger(__name__)

#: Extra seconds granted to a ``place_order`` reply beyond the server-side wait.
PLACE_ORDER_TIMEOUT_MARGIN = 30.0


def new_idempotency_key() -> str:
    return "bt-" + uuid4().hex


def place_order_payload(
    *,
    security: str,
    side: Side,
    amount: int,
    price: float | None,
    market: bool,
    wait_timeout: float,
    remark: str | None,
    strategy_name: str | None,
    idempotency_key: str,
    account_key: str | None,
    sub_account_id: str | None,
) -> dict[str, Any]:
    """The ``broker.place_order`` payload (protocol Appendix B shape).

    Raises:
        BadRequest: invalid security, amount, price or wait (``field`` names it).
    """
    code = parse_security(security).jq
    _validate(amount, price, market, wait_timeout)
    style: dict[str, Any] = {"type": "market" if market else "limit"}
    if price is not None:
        style["protect_price" if market else "price"] = price
    payload: dict[str, Any] = {
        "account_key": account_key,
        "sub_account_id": sub_account_id,
        "security": code,
        "amount": amount,
        "side": side.value,
        "style": style,
        "market": market,
        "wait_timeout": float(wait_timeout),
        "idempotency_key": idempotency_key,
    }
    if price is not None:
        payload["price"] = price
    if remark:
        payload["order_remark"] = remark
    if strategy_name:
        payload["strategy_name"] = strategy_name
    return payload


def _validate(amount: int, price: float | None, market: bool, wait_timeout: float) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise BadRequest(f"amount must be a positive integer, got {amount!r}", field="amount")
    if price is not None and not (math.isfinite(price) and price > 0):
        raise BadRequest(f"price must be a positive number, got {price!r}", field="price")
    if not market and price is None:
        raise BadRequest("a limit order needs a price", field="price")
    if not (math.isfinite(wait_timeout) and wait_timeout >= 0):
        raise BadRequest("wait_timeout must be >= 0", field="wait_timeout")


def check_place_reply(reply: Any, key: str) -> dict[str, Any]:
    """Interpret a ``place_order`` reply.

    Raises:
        SubmitUnknown: no ``order_id`` or status ``submit_unknown`` (details carry the key).
        OrderRejected: status ``rejected`` (or v1 ``failed``/``error``).
    """
    if not isinstance(reply, dict) or not reply.get("order_id"):
        raise SubmitUnknown(
            f"place_order reply has no order id: {reply!r}", details={"idempotency_key": key}
        )
    status = status_from_wire(reply)
    details = {"idempotency_key": key, "order_id": str(reply["order_id"])}
    if status is OrderStatus.SUBMIT_UNKNOWN:
        raise SubmitUnknown(f"order {reply['order_id']} state is unknown", details=details)
    if status is OrderStatus.REJECTED:
        reason = reply.get("reason") or reply.get("status_msg") or reply.get("warning")
        raise OrderRejected(
            f"order {reply['order_id']} rejected: {reason or reply.get('status')}",
            reason=str(reason) if reason else "rejected",
            details=details,
        )
    return reply


def rpc_timeout_for(
    conn: AsyncConnection, wait_timeout: float, margin: float = PLACE_ORDER_TIMEOUT_MARGIN
) -> float:
    """``max(rpc_timeout, wait + margin)``: the server may legitimately wait that long."""
    return max(conn.config.rpc_timeout, wait_timeout + margin)


async def submit_order(
    conn: AsyncConnection,
    payload: dict[str, Any],
    *,
    retries: int = 3,
    timeout_margin: float = PLACE_ORDER_TIMEOUT_MARGIN,
) -> dict[str, Any]:
    """Send ``broker.place_order``; re-send with the same key only after ``ConnectionLost``.

    Args:
        payload: from :func:`place_order_payload` (must hold ``idempotency_key``).
        retries: re-sends allowed after connection losses.
        timeout_margin: seconds added to ``wait_timeout`` for the reply deadline.

    Returns:
        The accepted reply (see :func:`check_place_reply`).

    Raises:
        SubmitUnknown: timed out, or the link kept dropping after the order may have been
            sent; ``details["idempotency_key"]`` says what to query.
        ConnectionLost: the order was certainly never sent (no link could be opened).
        Any error reply of the server, unchanged and never retried.
    """
    key = str(payload["idempotency_key"])
    timeout = rpc_timeout_for(conn, float(payload.get("wait_timeout") or 0.0), timeout_margin)
    maybe_sent = False
    for attempt in range(retries + 1):
        try:
            return await _attempt(conn, payload, key, timeout, maybe_sent=maybe_sent)
        except ConnectionLost as exc:
            maybe_sent = maybe_sent or bool(exc.details.get("sent", True))
            if conn.closed or attempt == retries:
                _give_up(exc, key, maybe_sent)
            log.warning("place_order %s: %s; re-sending with the same key", key, exc.message)
    raise AssertionError("unreachable")  # pragma: no cover


async def _attempt(
    conn: AsyncConnection, payload: dict[str, Any], key: str, timeout: float, *, maybe_sent: bool
) -> dict[str, Any]:
    try:
        await conn.ensure_connected()
    except ConnectionLost:
        raise
    except BulletTradeError as exc:  # e.g. AuthFailed on reconnect after a possible send
        if maybe_sent:
            _give_up(exc, key, maybe_sent)
        raise
    try:
        reply = await conn.request("broker.place_order", payload, timeout=timeout)
    except RequestTimeout as exc:
        raise SubmitUnknown(
            f"no answer to place_order {key} in time; query it by idempotency key",
            details={"idempotency_key": key},
        ) from exc
    except SubmitUnknown as exc:
        exc.details.setdefault("idempotency_key", key)
        raise
    return check_place_reply(reply, key)


def _give_up(exc: BulletTradeError, key: str, maybe_sent: bool) -> NoReturn:
    if not maybe_sent:
        raise exc
    raise SubmitUnknown(
        f"connection lost while placing order {key}; query it by idempotency key",
        details={"idempotency_key": key},
    ) from exc


def cancel_accepted(reply: Any) -> bool:
    """v1 cancel reply → accepted: a bool ``value``; a null one means ``success`` (default
    true); anything else is truthiness."""
    if not isinstance(reply, dict):
        return bool(reply)
    value = reply.get("value")
    if isinstance(value, bool):
        return value
    if value is None:
        return bool(reply.get("success", True))
    return bool(value)
