"""Small deterministic Broker/DataProvider fakes and an auto-advancing clock for live tests."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

import pandas as pd

from bullet_trade.adapters.contracts import HISTORY_COLUMNS, BrokerListener, QuoteListener
from bullet_trade.errors import BadRequest, OrderRejected
from bullet_trade.model import rules
from bullet_trade.model.clock import ManualClock
from bullet_trade.model.codes import Security, parse_security
from bullet_trade.model.enums import OrderStatus, OrderType, Side
from bullet_trade.model.records import (
    AccountChanged,
    AccountConfig,
    AccountSnapshot,
    CancelResult,
    HistoryQuery,
    Order,
    OrderUpdated,
    PlaceOrder,
    Position,
    Quote,
    SecurityInfo,
    Trade,
    TradeExecuted,
)

HOLIDAYS = {date(2025, 1, 1), date(2025, 5, 1), date(2025, 5, 2), date(2025, 5, 5)}
ACCOUNT = "main"


def is_trade_day(d: date) -> bool:
    return d.weekday() < 5 and d not in HOLIDAYS


class AutoClock(ManualClock):
    """A ManualClock that jumps to whatever moment is awaited: a day runs in milliseconds,
    deterministically, and ``now()`` is exactly the due moment when a job runs."""

    async def sleep_until(self, when: datetime) -> None:
        if when > self.now():
            await self.set(when)
        await super().sleep_until(when)


class FakeData:
    """Quotes from a price table; weekday calendar minus HOLIDAYS; synthetic daily bars."""

    def __init__(self, prices: dict[str, float], clock: ManualClock) -> None:
        self.prices = {parse_security(k): v for k, v in prices.items()}
        self.paused: set[Security] = set()
        self.clock = clock
        self.history_queries: list[HistoryQuery] = []

    async def quote(self, security: Security) -> Quote:
        last = self.prices.get(security, 0.0)
        low, high = rules.price_limits(security, last) if last else (0.0, 0.0)
        return Quote(security=security, last_price=last, dt=self.clock.now(), high_limit=high,
                     low_limit=low, pre_close=last, day_open=last, high=last, low=last,
                     paused=security in self.paused, name=f"N{security.symbol}")

    async def trade_days(self, start: date | None = None, end: date | None = None,
                         count: int | None = None) -> list[date]:
        end = end or self.clock.now().date()
        first = start or (end - timedelta(days=400))
        days = [first + timedelta(days=i) for i in range((end - first).days + 1)]
        days = [d for d in days if is_trade_day(d)]
        return days[-count:] if count else days

    async def history(self, query: HistoryQuery) -> pd.DataFrame:
        self.history_queries.append(query)
        end = query.end or self.clock.now()
        days = await self.trade_days(None, end.date(), None)
        days = [d for d in days if datetime.combine(d, time(0)) <= end]
        if query.start is not None:
            days = [d for d in days if datetime.combine(d, time(0)) >= query.start]
        if query.count:
            days = days[-query.count:]
        base = self.prices.get(query.security, 10.0)
        rows = [[base + i * 0.01] * 4 + [1000.0, 1000.0 * (base + i * 0.01)]
                for i in range(len(days))]
        index = pd.DatetimeIndex([pd.Timestamp(d) for d in days], name="time")
        return pd.DataFrame(rows, index=index, columns=list(HISTORY_COLUMNS))

    async def security_info(self, security: Security) -> SecurityInfo:
        if security not in self.prices:
            raise BadRequest(f"unknown {security}", field="security")
        return SecurityInfo(security=security, display_name=f"N{security.symbol}", type="stock")

    async def subscribe_quotes(self, securities: list[Security], listener: QuoteListener
                               ) -> Callable[[], None]:
        return lambda: None


@dataclass
class _Lot:
    day: date
    amount: int
    price: float


class FakeBroker:
    """Fills marketable orders at the last price at once; T+1 by lot date; cash checked."""

    def __init__(self, data: FakeData, clock: ManualClock, cash: float = 100_000.0) -> None:
        self.data = data
        self.clock = clock
        self.cash = cash
        self.lots: dict[Security, list[_Lot]] = {}
        self.placed: list[PlaceOrder] = []
        self._orders: dict[str, Order] = {}
        self._trades: list[Trade] = []
        self._ids = itertools.count(1)
        self._listeners: list[BrokerListener] = []
        self.push_events = True  # False: a backend that never pushes (like a v1 server)
        self.order_queries = 0

    def accounts(self) -> list[AccountConfig]:
        return [AccountConfig(key=ACCOUNT, account_id="123")]

    def add_listener(self, listener: BrokerListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: BrokerListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    @property
    def listener_count(self) -> int:
        return len(self._listeners)

    def _emit(self, event: object) -> None:
        if not self.push_events:
            return
        for listener in list(self._listeners):
            listener(event)  # type: ignore[arg-type]

    def _position(self, security: Security) -> Position | None:
        lots = self.lots.get(security, [])
        total = sum(lot.amount for lot in lots)
        if total <= 0:
            return None
        today = self.clock.now().date()
        closeable = sum(lot.amount for lot in lots if lot.day < today)
        cost = sum(lot.amount * lot.price for lot in lots) / total
        return Position(security=security, amount=total, closeable_amount=closeable,
                        avg_cost=round(cost, 4), last_price=self.data.prices[security])

    async def positions(self, account_key: str) -> list[Position]:
        return [p for s in sorted(self.lots) if (p := self._position(s)) is not None]

    async def account(self, account_key: str) -> AccountSnapshot:
        return AccountSnapshot(account_key=ACCOUNT, account_id="123", account_type="stock",
                               available_cash=round(self.cash, 2), frozen_cash=0.0,
                               positions=tuple(await self.positions(account_key)))

    async def orders(self, account_key: str) -> list[Order]:
        today = self.clock.now().date()
        return [o for o in self._orders.values() if o.created_at.date() == today]

    async def trades(self, account_key: str) -> list[Trade]:
        today = self.clock.now().date()
        return [t for t in self._trades if t.time.date() == today]

    async def order(self, account_key: str, order_id: str) -> Order | None:
        self.order_queries += 1
        return self._orders.get(order_id)

    def fill_later(self, order_id: str) -> None:
        """Fill an open order on the next event loop iteration (like a counter's push)."""
        order = self._orders[order_id]
        asyncio.get_running_loop().call_soon(self._fill, order, self.data.prices[order.security])

    def _check(self, command: PlaceOrder, price: float) -> None:
        if command.side is Side.BUY and command.amount * price > self.cash:
            raise OrderRejected("not enough cash", reason="insufficient_cash")
        if command.side is Side.SELL:
            pos = self._position(command.security)
            if pos is None or pos.closeable_amount < command.amount:
                raise OrderRejected("not enough closeable shares", reason="insufficient_position")

    async def place_order(self, account_key: str, command: PlaceOrder) -> Order:
        last = self.data.prices[command.security]
        self._check(command, command.price or last)
        self.placed.append(command)
        order = Order(order_id=f"B{next(self._ids)}", account_key=ACCOUNT,
                      security=command.security, side=command.side,
                      order_type=command.order_type, amount=command.amount,
                      status=OrderStatus.OPEN, raw_status=50, order_price=command.price,
                      created_at=self.clock.now(), remark=command.remark,
                      idempotency_key=command.idempotency_key)
        self._orders[order.order_id] = order
        marketable = command.order_type is OrderType.MARKET or (
            (command.price or 0) >= last if command.side is Side.BUY else (command.price or 0) <= last)
        if marketable:
            self._fill(order, last)
        return self._orders[order.order_id]

    def _fill(self, order: Order, price: float) -> None:
        if order.side is Side.BUY:
            self.cash -= order.amount * price
            self.lots.setdefault(order.security, []).append(
                _Lot(self.clock.now().date(), order.amount, price))
        else:
            self.cash += order.amount * price
            self._take(order.security, order.amount)
        filled = replace(order, status=OrderStatus.FILLED, raw_status=56, filled=order.amount,
                         avg_fill_price=price)
        self._orders[order.order_id] = filled
        trade = Trade(trade_id=f"T{order.order_id}", order_id=order.order_id, account_key=ACCOUNT,
                      security=order.security, side=order.side, amount=order.amount,
                      price=price, time=self.clock.now())
        self._trades.append(trade)
        self._emit(TradeExecuted(trade=trade))
        self._emit(OrderUpdated(order=filled))

    def _take(self, security: Security, amount: int) -> None:
        for lot in self.lots[security]:  # oldest first
            used = min(lot.amount, amount)
            lot.amount -= used
            amount -= used
        self.lots[security] = [lot for lot in self.lots[security] if lot.amount > 0]

    async def cancel_order(self, account_key: str, order_id: str) -> CancelResult:
        order = self._orders.get(order_id)
        if order is None or order.status.is_terminal:
            return CancelResult(accepted=False, order=order)
        canceled = replace(order, status=OrderStatus.CANCELED, raw_status=54)
        self._orders[order_id] = canceled
        self._emit(OrderUpdated(order=canceled))
        return CancelResult(accepted=True, order=canceled)

    async def emit_account(self) -> None:
        self._emit(AccountChanged(account=await self.account(ACCOUNT)))
