"""Mutable account state of the simulated broker, behind a small store.

:class:`MemoryStore` keeps everything in memory; :class:`~.sqlite_store.SqliteStore` adds
persistence. The broker calls :meth:`MemoryStore.save` after every change it makes to an
account (with the orders and trades that changed), so a store only has to write what it is
handed.

Cash and share bookkeeping:

* ``AccountState.cash`` is available cash; cash reserved by open buy orders moves to
  ``frozen_cash`` and back (release on cancel, spend on fill).
* ``PositionState.available`` is what can be sold now (T+1: today's buys are not in it);
  shares of open sell orders move to ``frozen``.
* ``PositionState.cost`` is the cost basis (turnover of buys, fees excluded); a sale removes
  ``avg_cost`` per share, so cash + cost basis changes only by fees and realised profit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from bullet_trade.errors import UnknownAccount
from bullet_trade.model.codes import Security
from bullet_trade.model.enums import OrderStatus, OrderType, Side, XtOrderStatus
from bullet_trade.model.records import AccountConfig, Order, Trade


@dataclass(slots=True)
class OrderState:
    """An order at the simulated broker.

    ``price`` is the limit price, or the protective price of a market order (the order then
    behaves as a limit order at that price).
    """

    order_id: str
    seq: int
    account_key: str
    security: Security
    side: Side
    order_type: OrderType
    amount: int
    price: float
    created_at: datetime
    remark: str = ""
    strategy_name: str = "bullet-trade"
    idempotency_key: str | None = None
    status: OrderStatus = OrderStatus.OPEN
    raw_status: int = XtOrderStatus.REPORTED
    status_msg: str = ""
    reason: str | None = None
    filled: int = 0
    turnover: float = 0.0
    commission: float = 0.0
    tax: float = 0.0
    frozen_cash: float = 0.0
    trading_day: date | None = None

    @property
    def remaining(self) -> int:
        return self.amount - self.filled

    def set_status(self, raw: XtOrderStatus, status: OrderStatus, msg: str = "") -> None:
        self.raw_status = int(raw)
        self.status = status
        if msg:
            self.status_msg = msg

    def snapshot(self) -> Order:
        return Order(
            order_id=self.order_id,
            account_key=self.account_key,
            security=self.security,
            side=self.side,
            order_type=self.order_type,
            amount=self.amount,
            status=self.status,
            raw_status=self.raw_status,
            order_price=self.price,
            created_at=self.created_at,
            filled=self.filled,
            avg_fill_price=round(self.turnover / self.filled, 4) if self.filled else 0.0,
            remark=self.remark,
            strategy_name=self.strategy_name,
            status_msg=self.status_msg,
            reason=self.reason,
            sysid=str(self.seq),
            commission=self.commission,
            tax=self.tax,
            idempotency_key=self.idempotency_key,
        )


@dataclass(slots=True)
class PositionState:
    """Holding of one security (see module docstring)."""

    amount: int = 0
    available: int = 0
    frozen: int = 0
    cost: float = 0.0

    @property
    def avg_cost(self) -> float:
        return self.cost / self.amount if self.amount else 0.0


@dataclass(slots=True)
class AccountState:
    """Cash, positions, the current trading day's orders and trades, and the earlier days'
    orders (all terminal, kept so that they stay queryable by id)."""

    config: AccountConfig
    cash: float
    frozen_cash: float = 0.0
    positions: dict[Security, PositionState] = field(default_factory=dict)
    orders: dict[str, OrderState] = field(default_factory=dict)
    trades: list[Trade] = field(default_factory=list)
    past_orders: dict[str, OrderState] = field(default_factory=dict)
    order_count: int = 0
    trade_count: int = 0
    trading_day: date | None = None

    @property
    def key(self) -> str:
        return self.config.key

    def next_order_id(self) -> str:
        self.order_count += 1
        return f"sim-{self.key}-{self.order_count}"

    def next_trade_id(self) -> str:
        self.trade_count += 1
        return f"sim-{self.key}-t{self.trade_count}"


class MemoryStore:
    """Account states in memory, in configuration order.

    Args:
        accounts: the configured accounts (keys must be unique).
        initial_cash: starting cash of every account.
    """

    def __init__(self, accounts: Sequence[AccountConfig], initial_cash: float) -> None:
        keys = [a.key for a in accounts]
        if len(keys) != len(set(keys)):
            raise ValueError(f"duplicate account keys in {keys}")
        self._accounts = {a.key: AccountState(config=a, cash=initial_cash) for a in accounts}

    def get(self, key: str) -> AccountState:
        """The account with ``key``; never another one.

        Raises:
            UnknownAccount: no account has this key (field ``account_key``).
        """
        try:
            return self._accounts[key]
        except (KeyError, TypeError):
            raise UnknownAccount(f"unknown account {key!r}", field="account_key") from None

    def all(self) -> list[AccountState]:
        return list(self._accounts.values())

    def configs(self) -> list[AccountConfig]:
        return [a.config for a in self._accounts.values()]

    def save(
        self,
        account: AccountState,
        orders: Iterable[OrderState] = (),
        trades: Iterable[Trade] = (),
    ) -> None:
        """Record that ``account`` (and the given orders / new trades) changed. In memory the
        objects themselves are the state, so there is nothing to do."""

    def flush(self) -> None:
        """Wait until every change handed to :meth:`save` is durable (no-op in memory)."""

    def close(self) -> None:
        """Flush and release resources; the store must not be used afterwards."""
