"""Domain records: commands (imperative), events (past tense) and query results (nouns).

Records are frozen, slotted and validated on construction. Each record that appears in a v1
response knows its own wire shape (``to_wire``), so the v1 field names live in one place.

Market-data records (``Quote``, ``SecurityInfo``, ``DividendEvent``) live in
:mod:`bullet_trade.model.market` and are re-exported here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bullet_trade.model.codes import Security
from bullet_trade.model.enums import (
    XT_PRICE_TYPE_LIMIT_ECHO,
    XT_PRICE_TYPE_MARKET_ECHO,
    XT_STOCK_BUY,
    XT_STOCK_SELL,
    OrderStatus,
    OrderType,
    Side,
)
from bullet_trade.model.market import WIRE_DATETIME, DividendEvent, Quote, SecurityInfo


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountConfig:
    """One configured trading account (``--accounts main=123456:stock``)."""

    key: str
    account_id: str
    account_type: str = "stock"
    data_path: str | None = None

    def __post_init__(self) -> None:
        if not self.key or not self.account_id:
            raise ValueError("account key and account id must be non-empty")


# --------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaceOrder:
    """Command: place one order.

    ``price`` is the limit price for limit orders and the protective price for market orders
    (``None`` lets the backend choose one from the last price).
    """

    security: Security
    side: Side
    amount: int
    order_type: OrderType
    price: float | None = None
    remark: str = ""
    strategy_name: str = "bullet-trade"
    idempotency_key: str | None = None

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise ValueError("amount must be a positive number of shares")
        if self.price is not None and not (math.isfinite(self.price) and self.price > 0):
            raise ValueError("price must be a positive finite number")
        if self.order_type is OrderType.LIMIT and self.price is None:
            raise ValueError("a limit order needs a price")


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryQuery:
    """Query: bars of one security, newest last.

    ``frequency`` is one of ``1d 1m 5m 15m 30m 60m``; ``fq`` one of ``pre post none``.
    Either ``count`` bars ending at ``end`` or the range ``[start, end]``.
    """

    security: Security
    frequency: str = "1d"
    start: datetime | None = None
    end: datetime | None = None
    count: int | None = None
    fq: str = "pre"


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True, kw_only=True)
class Order:
    """Snapshot of an order at the broker."""

    order_id: str
    account_key: str
    security: Security
    side: Side
    order_type: OrderType
    amount: int
    status: OrderStatus
    raw_status: int
    order_price: float | None
    created_at: datetime
    filled: int = 0
    avg_fill_price: float = 0.0
    remark: str = ""
    strategy_name: str = "bullet-trade"
    status_msg: str = ""
    reason: str | None = None
    sysid: str = ""
    commission: float = 0.0
    tax: float = 0.0
    idempotency_key: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """v1 order row (``broker.orders`` / ``broker.order_status`` / order events).

        ``idempotency_key`` is only present when known (additive): clients match orders whose
        submission outcome was unknown back by it.
        """
        out: dict[str, Any] = {
            "order_id": self.order_id,
            "security": self.security.jq,
            "amount": self.amount,
            "filled": self.filled,
            "traded_volume": self.filled,
            "price": self.avg_fill_price if self.filled else 0.0,
            "traded_price": self.avg_fill_price if self.filled else 0.0,
            "order_price": _finite(self.order_price),
            "status": self.status.value,
            "raw_status": self.raw_status,
            "side": self.side.value,
            "is_buy": self.side is Side.BUY,
            "order_type": XT_STOCK_BUY if self.side is Side.BUY else XT_STOCK_SELL,
            "style": self.order_type.value,
            "price_type": (
                XT_PRICE_TYPE_LIMIT_ECHO
                if self.order_type is OrderType.LIMIT
                else XT_PRICE_TYPE_MARKET_ECHO
            ),
            "deal_balance": round(self.filled * self.avg_fill_price, 4),
            "commission": self.commission,
            "tax": self.tax,
            "order_remark": self.remark,
            "strategy_name": self.strategy_name,
            "order_sysid": self.sysid,
            "status_msg": self.status_msg,
            "reason": self.reason,
            "order_time": int(self.created_at.timestamp()),
            "account_key": self.account_key,
        }
        if self.idempotency_key:
            out["idempotency_key"] = self.idempotency_key
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Trade:
    """One fill."""

    trade_id: str
    order_id: str
    account_key: str
    security: Security
    side: Side
    amount: int
    price: float
    time: datetime
    commission: float = 0.0
    tax: float = 0.0

    def to_wire(self) -> dict[str, Any]:
        """v1 trade row (``broker.trades``)."""
        return {
            "trade_id": self.trade_id,
            "order_id": self.order_id,
            "security": self.security.jq,
            "side": self.side.value,
            "amount": self.amount,
            "price": self.price,
            "traded_price": self.price,
            "trade_price": self.price,
            "deal_balance": round(self.amount * self.price, 4),
            "time": self.time.strftime(WIRE_DATETIME),
            "commission": self.commission,
            "commission_fee": self.commission,
            "tax": self.tax,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Position:
    """Holding of one security."""

    security: Security
    amount: int
    closeable_amount: int
    avg_cost: float
    last_price: float
    name: str | None = None
    frozen_amount: int = 0

    @property
    def market_value(self) -> float:
        return round(self.amount * self.last_price, 4)

    def to_wire(self) -> dict[str, Any]:
        """v1 position row (``broker.positions``)."""
        return {
            "security": self.security.jq,
            "name": self.name,
            "amount": self.amount,
            "closeable_amount": self.closeable_amount,
            "available_amount": self.closeable_amount,
            "can_use_volume": self.closeable_amount,
            "frozen_volume": self.frozen_amount,
            "avg_cost": self.avg_cost,
            "current_price": self.last_price,
            "last_price": self.last_price,
            "market_value": self.market_value,
            "position_value": self.market_value,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountSnapshot:
    """Cash and holdings of one account."""

    account_key: str
    account_id: str
    account_type: str
    available_cash: float
    frozen_cash: float
    positions: tuple[Position, ...] = ()

    @property
    def market_value(self) -> float:
        return round(sum(p.market_value for p in self.positions), 4)

    @property
    def total_value(self) -> float:
        return round(self.available_cash + self.frozen_cash + self.market_value, 4)

    def to_wire(self) -> dict[str, Any]:
        """``value`` of the v1 ``broker.account`` dict envelope."""
        return {
            "account_key": self.account_key,
            "account_id": self.account_id,
            "account_type": self.account_type,
            "available_cash": self.available_cash,
            "transferable_cash": self.available_cash,
            "frozen_cash": self.frozen_cash,
            "locked_cash": self.frozen_cash,
            "market_value": self.market_value,
            "total_value": self.total_value,
            "total_asset": self.total_value,
            "positions": [p.to_wire() for p in self.positions],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelResult:
    """Outcome of a cancel request: whether the broker accepted it, and the order after it."""

    accepted: bool
    order: Order | None


# --------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderUpdated:
    """Event: an order changed (any status or fill change)."""

    order: Order


@dataclass(frozen=True, slots=True, kw_only=True)
class TradeExecuted:
    """Event: a fill happened."""

    trade: Trade


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountChanged:
    """Event: cash or positions of an account changed."""

    account: AccountSnapshot


@dataclass(frozen=True, slots=True, kw_only=True)
class BackendStateChanged:
    """Event: the backend connection state changed (connected / disconnected / reconnecting)."""

    state: str
    detail: str = ""


BrokerEvent = OrderUpdated | TradeExecuted | AccountChanged | BackendStateChanged


__all__ = [
    "WIRE_DATETIME",
    "AccountChanged",
    "AccountConfig",
    "AccountSnapshot",
    "BackendStateChanged",
    "BrokerEvent",
    "CancelResult",
    "DividendEvent",
    "HistoryQuery",
    "Order",
    "OrderUpdated",
    "PlaceOrder",
    "Position",
    "Quote",
    "SecurityInfo",
    "Trade",
    "TradeExecuted",
]
