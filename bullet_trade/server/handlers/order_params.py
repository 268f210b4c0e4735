"""Parsing of ``broker.place_order`` / ``broker.cancel_order`` payloads (protocol.md 5.4.7).

Produces a typed :class:`PlaceRequest`; every invalid field raises ``BadRequest`` naming it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bullet_trade.config import ServerConfig
from bullet_trade.errors import BadRequest
from bullet_trade.model.enums import OrderType, Side
from bullet_trade.model.records import PlaceOrder
from bullet_trade.server.handlers.params import (
    opt_bool,
    opt_float,
    opt_id,
    opt_int,
    opt_str,
    pick,
    prefixed,
    req_security,
    sub_mapping,
)

MAX_AMOUNT = 1_000_000_000  # shares; anything larger is a client bug
MAX_PRICE = 1_000_000.0  # CNY per share
MAX_WAIT = 600.0  # seconds a request may wait for a terminal status
MAX_KEY = 128
DEFAULT_STRATEGY = "bullet-trade"

_STYLE_TYPES = {
    "limit": OrderType.LIMIT,
    "limitorderstyle": OrderType.LIMIT,
    "market": OrderType.MARKET,
    "marketorderstyle": OrderType.MARKET,
}


@dataclass(frozen=True, slots=True)
class PlaceRequest:
    """A validated ``broker.place_order`` request.

    Attributes:
        command: the order (``idempotency_key`` as given, possibly ``None``).
        wait_timeout: seconds to wait for a terminal status (0 = answer at once).
    """

    command: PlaceOrder
    wait_timeout: float


def parse_wait(payload: dict[str, Any], default: float) -> float:
    """``wait_timeout``: a float in ``[0, 600]``; absent → ``default`` (TRADE_MAX_WAIT_TIME)."""
    value = opt_float(payload, "wait_timeout", minimum=0.0, maximum=MAX_WAIT)
    return default if value is None else value


def lenient_wait(config: ServerConfig, payload: dict[str, Any]) -> float:
    """``wait_timeout`` for sizing the request timeout; invalid values give the default
    (the handler reports them as ``BadRequest``)."""
    try:
        return parse_wait(payload, config.trade_max_wait)
    except BadRequest:
        return config.trade_max_wait


def request_timeout(config: ServerConfig, payload: dict[str, Any]) -> float:
    """Per-request timeout of the money paths: the wait plus 30 s of headroom."""
    return max(config.request_timeout, lenient_wait(config, payload) + 30.0)


def require_order_id(payload: dict[str, Any]) -> str:
    """``order_id`` (string or integer), required.

    Raises:
        BadRequest: field ``order_id``; the message keeps the v1 text ``缺少 order_id``.
    """
    order_id = opt_id(payload, "order_id")
    if order_id is None:
        raise missing_order_id()
    return order_id


def missing_order_id() -> BadRequest:
    """The error for a request without ``order_id`` (v1 clients match ``缺少 order_id``)."""
    return BadRequest("缺少 order_id: order_id is required", field="order_id")


def parse_place(payload: dict[str, Any], default_wait: float) -> PlaceRequest:
    """Validate a ``broker.place_order`` payload.

    Raises:
        BadRequest: naming the field (``security``, ``amount``, ``side``, ``style.type``,
            ``style.price``, ``wait_timeout``, ...).
    """
    security = req_security(payload, "security")
    amount = opt_int(payload, "amount", "volume", minimum=1, maximum=MAX_AMOUNT)
    if amount is None:
        raise BadRequest("amount is required (a positive number of shares)", field="amount")
    order_type, price = _style(payload)
    command = PlaceOrder(
        security=security,
        side=_side(payload),
        amount=amount,
        order_type=order_type,
        price=price,
        remark=opt_str(payload, "order_remark", "remark") or "",
        strategy_name=opt_str(payload, "strategy_name") or DEFAULT_STRATEGY,
        idempotency_key=opt_str(payload, "idempotency_key", max_len=MAX_KEY),
    )
    return PlaceRequest(command=command, wait_timeout=parse_wait(payload, default_wait))


def _side(payload: dict[str, Any]) -> Side:
    _, value = pick(payload, "side")
    if value is None:
        return Side.BUY
    try:
        return Side.parse(value)
    except ValueError:
        raise BadRequest(f"side must be BUY or SELL, got {value!r}", field="side") from None


def _style(payload: dict[str, Any]) -> tuple[OrderType, float | None]:
    """Order type and price from ``style``, ``market`` and the fallback ``price``."""
    style = prefixed("style", sub_mapping(payload, "style"))
    order_type = _order_type(style, opt_bool(payload, "market", default=False))

    def price_of(source: dict[str, Any], name: str) -> float | None:
        return opt_float(source, name, minimum=0.0, maximum=MAX_PRICE, strict_min=True)

    style_price = price_of(style, "style.price")
    protect = price_of(style, "style.protect_price")
    fallback = price_of(payload, "price")
    if order_type is OrderType.MARKET:
        return order_type, _first(protect, style_price, fallback)
    price = _first(style_price, fallback)
    if price is None:
        raise BadRequest(
            "a limit order needs a price in style.price "
            "(限价单缺少委托价格，请在 style.price 中提供)",
            field="style.price",
        )
    return order_type, price


def _order_type(style: dict[str, Any], market: bool) -> OrderType:
    value = style.get("style.type")
    if value is None:
        return OrderType.MARKET if market else OrderType.LIMIT
    found = _STYLE_TYPES.get(value.strip().lower()) if isinstance(value, str) else None
    if found is None:
        raise BadRequest(f"style.type must be limit or market, got {value!r}", field="style.type")
    return found


def _first(*values: float | None) -> float | None:
    return next((v for v in values if v is not None), None)


def fingerprint(command: PlaceOrder) -> str:
    """Canonical text of the fields that make two requests "the same order"."""
    return json.dumps(
        {
            "security": command.security.jq,
            "side": command.side.value,
            "amount": command.amount,
            "type": command.order_type.value,
            "price": command.price,
        },
        sort_keys=True,
    )
