"""Strategy-facing objects of the JoinQuant API: ``g``, order styles, ``Order``, ``Trade`` and
current-data rows.

These are plain objects with no reference to the engine, so they can be pickled (``g``) and
printed freely. The engine updates ``Order`` instances in place as the broker reports changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from datetime import datetime as DateTime
from typing import Any

from bullet_trade.model.enums import OrderStatus
from bullet_trade.model.records import Quote


class GlobalBag:
    """JoinQuant's ``g``: a bag of attributes persisted between runs.

    Reading a missing attribute raises ``AttributeError`` (so ``hasattr``/``getattr`` with a
    default behave as in JoinQuant). Attributes whose name starts with ``__`` are not persisted.
    """

    def snapshot(self) -> dict[str, Any]:
        """The attributes to persist (names starting with ``__`` are excluded)."""
        return {k: v for k, v in vars(self).items() if not k.startswith("__")}

    def replace(self, values: dict[str, Any]) -> None:
        """Drop every attribute, then set ``values``."""
        vars(self).clear()
        vars(self).update(values)

    def __repr__(self) -> str:
        names = ", ".join(sorted(vars(self)))
        return f"g({names})"


class OrderStyle:
    """Base of the order styles."""


@dataclass(frozen=True)
class MarketOrderStyle(OrderStyle):
    """Market order with a protective price.

    Args:
        limit_price: explicit protective price (rounded to the tick and clamped to the limits).
        buy_price_percent / sell_price_percent: protective distance from the last price
            (default 1.5 %), as a fraction, e.g. ``0.01``.
    """

    limit_price: float | None = None
    buy_price_percent: float | None = None
    sell_price_percent: float | None = None


@dataclass(frozen=True)
class LimitOrderStyle(OrderStyle):
    """Limit order; the price is rounded to the tick and clamped into the day's limits."""

    limit_price: float

    @property
    def price(self) -> float:
        return self.limit_price


@dataclass(eq=False)
class Order:
    """JoinQuant-like order, updated in place from broker snapshots.

    Attributes:
        order_id: the broker's order id (``local-...`` when the order never reached the broker).
        security: JoinQuant code.
        amount: shares requested (absolute).
        filled: shares filled so far.
        price: average fill price, or the order price while nothing is filled.
        status: :class:`~bullet_trade.model.enums.OrderStatus`.
        is_buy: buy or sell.
        add_time: strategy time (``context.current_dt``) when the order was placed.
        order_price: price sent to the broker (limit or protective price).
        reason: why the order was rejected, if it was.
    """

    order_id: str
    security: str
    amount: int
    is_buy: bool
    add_time: datetime
    status: OrderStatus = OrderStatus.NEW
    filled: int = 0
    price: float = 0.0
    order_price: float | None = None
    style: OrderStyle | None = None
    reason: str | None = None
    commission: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def action(self) -> str:
        """``open`` for buys, ``close`` for sells (JoinQuant naming)."""
        return "open" if self.is_buy else "close"

    @property
    def side(self) -> str:
        return "long"

    def __repr__(self) -> str:
        side = "buy" if self.is_buy else "sell"
        return (
            f"Order({self.order_id} {side} {self.security} {self.filled}/{self.amount} "
            f"@{self.price:g} {self.status.value}"
            + (f" reason={self.reason}" if self.reason else "")
            + ")"
        )


@dataclass(frozen=True)
class Trade:
    """One fill of a strategy order."""

    trade_id: str
    order_id: str
    security: str
    amount: int
    price: float
    time: datetime
    commission: float = 0.0
    tax: float = 0.0


@dataclass(frozen=True)
class SecurityUnitData:
    """One row of ``get_current_data()``."""

    security: str
    last_price: float
    high_limit: float
    low_limit: float
    paused: bool
    is_st: bool
    day_open: float
    pre_close: float
    name: str | None

    @property
    def code(self) -> str:
        return self.security


@dataclass(frozen=True)
class Tick:
    """JoinQuant-like tick handed to ``handle_tick(context, tick)``."""

    code: str
    datetime: DateTime
    current: float
    high: float
    low: float
    volume: int
    money: float
    high_limit: float
    low_limit: float
    bids: tuple[tuple[float, int], ...] = ()
    asks: tuple[tuple[float, int], ...] = ()

    @property
    def security(self) -> str:
        return self.code

    @property
    def last_price(self) -> float:
        return self.current

    @classmethod
    def from_quote(cls, quote: Quote) -> Tick:
        return cls(code=quote.security.jq, datetime=quote.dt, current=quote.last_price,
                   high=quote.high, low=quote.low, volume=quote.volume, money=quote.money,
                   high_limit=quote.high_limit, low_limit=quote.low_limit,
                   bids=tuple(quote.bids), asks=tuple(quote.asks))


class Settings:
    """Values recorded by ``set_benchmark``/``set_option``/``set_order_cost``/...; they are kept
    for the strategy to read back but do not change live trading (the broker charges real fees).
    """

    def __init__(self) -> None:
        self.benchmark: str | None = None
        self.options: dict[str, Any] = {}
        self.order_cost: dict[str, Any] = {}
        self.slippage: Any = None
        self.universe: list[str] = []
        self.records: list[tuple[datetime | None, dict[str, float]]] = []
        self.message_handler: Any = None


@dataclass(frozen=True)
class OrderCost:
    """Fee description (accepted for compatibility; live fees are the broker's)."""

    open_tax: float = 0.0
    close_tax: float = 0.001
    open_commission: float = 0.0003
    close_commission: float = 0.0003
    close_today_commission: float = 0.0
    min_commission: float = 5.0


@dataclass(frozen=True)
class PerTrade:
    buy_cost: float = 0.0003
    sell_cost: float = 0.0013
    min_cost: float = 5.0


@dataclass(frozen=True)
class FixedSlippage:
    value: float = 0.0


@dataclass(frozen=True)
class PriceRelatedSlippage:
    value: float = 0.0


@dataclass(frozen=True)
class StepRelatedSlippage:
    value: int = 0
