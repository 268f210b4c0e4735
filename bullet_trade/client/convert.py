"""v1 wire dicts → model records, once, at the client edge.

Tolerant of optional fields other v1 servers omit or spell differently (``traded_volume`` for
``filled``, ``cancelled`` for ``canceled``, ``is_buy`` / ``order_type`` 23/24 for ``side``...);
strict on identity fields: a row without ``order_id`` or a parseable ``security`` raises
:class:`~bullet_trade.errors.InternalError` naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from bullet_trade.errors import BadRequest, InternalError
from bullet_trade.model.codes import Security, parse_security
from bullet_trade.model.enums import (
    XT_STOCK_BUY,
    XT_STOCK_SELL,
    OrderStatus,
    OrderType,
    Side,
    status_from_xt,
)
from bullet_trade.model.records import (
    AccountSnapshot,
    Order,
    Position,
    Quote,
    SecurityInfo,
    Trade,
)


def unwrap_value(payload: Any) -> dict[str, Any]:
    """The dict of a v1 dict envelope: ``value`` when it is a dict, else the top level
    without ``dtype``/``value`` (servers flatten inconsistently, protocol.md 2.5)."""
    if not isinstance(payload, dict):
        return {}
    value = payload.get("value")
    if isinstance(value, dict):
        return value
    return {k: v for k, v in payload.items() if k not in ("dtype", "value")}


def first(row: Mapping[str, Any], *keys: str, default: Any = None) -> Any:
    """The first present, non-null value among ``keys``."""
    for key in keys:
        value = row.get(key)
        if value is not None:
            return value
    return default


def as_float(value: Any, default: float = 0.0) -> float:
    """Finite float or ``default`` (``None``, NaN, text that is not a number)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) else default


def as_int(value: Any, default: int = 0) -> int:
    return int(as_float(value, float(default)))


def parse_datetime(value: Any) -> datetime | None:
    """``YYYY-MM-DD[ T]HH:MM:SS[.f]``, ``YYYY-MM-DD``, ``YYYYMMDD[HHMMSS]`` or epoch seconds /
    milliseconds. ``None`` when absent or unparseable."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        seconds = value / 1000.0 if value > 1e11 else float(value)
        return datetime.fromtimestamp(seconds)
    if isinstance(value, str) and value.strip():
        text = value.strip()
        if text.isdigit() and len(text) in (8, 14):
            return datetime.strptime(text, "%Y%m%d%H%M%S" if len(text) == 14 else "%Y%m%d")
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            return None
    return None


def parse_date(value: Any) -> date | None:
    moment = parse_datetime(value)
    return moment.date() if moment is not None else None


def _required_security(row: Mapping[str, Any], *keys: str) -> Security:
    value = first(row, *keys)
    if value is None:
        raise InternalError(f"server row has no {keys[0]}: {dict(row)!r}", field=keys[0])
    try:
        return parse_security(value, keys[0])
    except BadRequest as exc:
        raise InternalError(f"server sent {exc.message}", field=keys[0]) from exc


def _required_text(row: Mapping[str, Any], key: str) -> str:
    value = row.get(key)
    if value is None or str(value) == "":
        raise InternalError(f"server row has no {key}: {dict(row)!r}", field=key)
    return str(value)


def side_from_wire(row: Mapping[str, Any], default: Side | None = None) -> Side | None:
    """``side`` text, else ``is_buy``, else xtquant ``order_type`` 23/24, else ``default``."""
    side = row.get("side")
    if isinstance(side, str) and side.strip().upper() in ("BUY", "SELL"):
        return Side.parse(side)
    if isinstance(row.get("is_buy"), bool):
        return Side.BUY if row["is_buy"] else Side.SELL
    order_type = row.get("order_type")
    if order_type == XT_STOCK_BUY:
        return Side.BUY
    if order_type == XT_STOCK_SELL:
        return Side.SELL
    return default


def status_from_wire(row: Mapping[str, Any]) -> OrderStatus:
    """``status`` in any v1 spelling; else the xtquant ``raw_status``; else ``open``."""
    status = row.get("status")
    if status is not None and str(status).strip():
        try:
            return OrderStatus.parse(status)
        except ValueError:
            pass
    raw = row.get("raw_status")
    if isinstance(raw, int) and not isinstance(raw, bool):
        return status_from_xt(raw)
    return OrderStatus.OPEN


def _order_type(row: Mapping[str, Any], default: OrderType) -> OrderType:
    style = row.get("style")
    text = style.get("type") if isinstance(style, dict) else first(row, "style_type", "style")
    if isinstance(text, str) and text.lower() in ("limit", "market"):
        return OrderType(text.lower())
    return default


def order_from_wire(
    row: Mapping[str, Any],
    *,
    account_key: str,
    side: Side | None = None,
    order_type: OrderType = OrderType.LIMIT,
    security: Security | None = None,
) -> Order:
    """An order row (``broker.orders``, ``order_status``, ``place_order`` reply, event).

    ``side`` / ``order_type`` / ``security`` are fallbacks for replies that omit them (the qmt
    ``place_order`` reply has no side); a row's own values win.
    """
    order_id = _required_text(row, "order_id")
    if security is None or first(row, "security", "stock_code") is not None:
        security = _required_security(row, "security", "stock_code")
    filled = as_int(first(row, "filled", "traded_volume"))
    order_price = first(row, "order_price")
    return Order(
        order_id=order_id,
        account_key=str(row.get("account_key") or account_key),
        security=security,
        side=side_from_wire(row, side) or Side.BUY,
        order_type=_order_type(row, order_type),
        amount=as_int(first(row, "amount", "volume", "order_volume")),
        status=status_from_wire(row),
        raw_status=as_int(row.get("raw_status"), 255),
        order_price=as_float(order_price) if order_price is not None else None,
        created_at=parse_datetime(first(row, "order_time", "time")) or datetime.now(),
        filled=filled,
        avg_fill_price=as_float(first(row, "traded_price", "price")) if filled else 0.0,
        remark=str(first(row, "order_remark", "remark", default="")),
        strategy_name=str(first(row, "strategy_name", default="bullet-trade")),
        status_msg=str(first(row, "status_msg", default="")),
        reason=row.get("reason") if isinstance(row.get("reason"), str) else None,
        sysid=str(first(row, "order_sysid", default="")),
        commission=as_float(first(row, "commission", "commission_fee")),
        tax=as_float(row.get("tax")),
        idempotency_key=row.get("idempotency_key") or None,
    )


def trade_from_wire(
    row: Mapping[str, Any], *, account_key: str, sides: Mapping[str, Side] | None = None
) -> Trade:
    """A fill row. v1 qmt rows carry no side: ``sides`` maps order id → side for them."""
    order_id = _required_text(row, "order_id")
    fallback = (sides or {}).get(order_id)
    return Trade(
        trade_id=_required_text(row, "trade_id"),
        order_id=order_id,
        account_key=str(row.get("account_key") or account_key),
        security=_required_security(row, "security", "stock_code"),
        side=side_from_wire(row, fallback) or Side.BUY,
        amount=as_int(first(row, "amount", "traded_volume", "volume")),
        price=as_float(first(row, "price", "traded_price", "trade_price")),
        time=parse_datetime(first(row, "time", "traded_time")) or datetime.now(),
        commission=as_float(first(row, "commission", "commission_fee")),
        tax=as_float(row.get("tax")),
    )


def position_from_wire(row: Mapping[str, Any]) -> Position:
    amount = as_int(first(row, "amount", "volume"))
    last = as_float(first(row, "last_price", "current_price"))
    if not last and amount:
        last = as_float(row.get("market_value")) / amount
    return Position(
        security=_required_security(row, "security", "stock_code"),
        amount=amount,
        closeable_amount=as_int(
            first(row, "closeable_amount", "available_amount", "can_use_volume"), amount
        ),
        avg_cost=as_float(first(row, "avg_cost", "cost_basis", "open_price")),
        last_price=last,
        name=row.get("name") if isinstance(row.get("name"), str) else None,
        frozen_amount=as_int(first(row, "frozen_volume", "frozen_amount")),
    )


def account_from_wire(
    payload: Any, *, account_key: str, positions: list[Position] | None = None
) -> AccountSnapshot:
    """``broker.account`` reply (``value`` first, then the top level). ``positions`` is used
    when the reply carries none."""
    info = unwrap_value(payload)
    rows = info.get("positions")
    if isinstance(rows, list):
        positions = [position_from_wire(r) for r in rows if isinstance(r, dict)]
    return AccountSnapshot(
        account_key=str(info.get("account_key") or account_key),
        account_id=str(info.get("account_id") or account_key),
        account_type=str(info.get("account_type") or "stock"),
        available_cash=as_float(first(info, "available_cash", "cash", "available")),
        frozen_cash=as_float(first(info, "frozen_cash", "locked_cash")),
        positions=tuple(positions or ()),
    )


def quote_from_wire(
    security: Security, live: Mapping[str, Any], snapshot: Mapping[str, Any] | None = None
) -> Quote:
    """Merge ``data.live_current`` with ``data.snapshot`` (either may be partial). Fields the
    server does not send fall back to the last price (limits, open, high, low)."""
    merged: dict[str, Any] = dict(snapshot or {})
    merged.update({k: v for k, v in live.items() if v is not None})
    last = as_float(first(merged, "last_price", "lastPrice", "price"))
    return Quote(
        security=security,
        last_price=last,
        dt=parse_datetime(first(merged, "dt", "time", "datetime")) or datetime.now(),
        high_limit=as_float(first(merged, "high_limit", "UpStopPrice"), last),
        low_limit=as_float(first(merged, "low_limit", "DownStopPrice"), last),
        pre_close=as_float(first(merged, "pre_close", "lastClose"), last),
        day_open=as_float(first(merged, "day_open", "open"), last),
        high=as_float(merged.get("high"), last),
        low=as_float(merged.get("low"), last),
        volume=as_int(merged.get("volume")),
        money=as_float(first(merged, "money", "amount")),
        paused=bool(merged.get("paused", False)),
        name=merged.get("name") if isinstance(merged.get("name"), str) else None,
        is_st=bool(merged.get("is_st", False)),
    )


def security_info_from_wire(payload: Any) -> SecurityInfo:
    info = unwrap_value(payload)
    security = _required_security(info, "code", "qmt_code", "security")
    return SecurityInfo(
        security=security,
        display_name=str(first(info, "display_name", "name", default=security.jq)),
        type=str(info.get("type") or "stock"),
        start_date=parse_date(info.get("start_date")),
        end_date=parse_date(info.get("end_date")),
        subtype=info.get("subtype") if isinstance(info.get("subtype"), str) else None,
    )
