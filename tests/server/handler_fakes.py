"""In-memory fakes for driving the action handlers without sockets (handler tests only)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

from bullet_trade.adapters.contracts import HISTORY_COLUMNS, BrokerListener, QuoteListener
from bullet_trade.config import ServerConfig
from bullet_trade.errors import BadRequest, OrderRejected
from bullet_trade.model.clock import ManualClock
from bullet_trade.model.codes import Security, parse_security
from bullet_trade.model.enums import OrderStatus, OrderType, Side
from bullet_trade.model.records import (
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
)
from bullet_trade.server.context import RequestContext, ServerState

T0 = datetime(2025, 1, 2, 10, 0, 0)
RAW = {
    OrderStatus.OPEN: 50,
    OrderStatus.CANCELING: 51,
    OrderStatus.CANCELED: 54,
    OrderStatus.FILLED: 56,
    OrderStatus.REJECTED: 57,
    OrderStatus.FILLING: 55,
    OrderStatus.PARTLY_CANCELED: 53,
}
ACCOUNTS = (
    AccountConfig(key="main", account_id="111"),
    AccountConfig(key="hedge", account_id="222"),
)


class FakeSession:
    """SessionHandle with an in-memory subscription set."""

    def __init__(
        self,
        account_key: str | None = None,
        sub_account_id: str | None = None,
        extensions: frozenset[str] = frozenset(),
        limit: int = 200,
    ) -> None:
        self._account_key = account_key
        self._sub = sub_account_id
        self._extensions = extensions
        self._limit = limit
        self.symbols: set[str] = set()
        self.subscribe_calls: list[list[str]] = []

    @property
    def session_id(self) -> str:
        return "s000000000001"

    @property
    def peer(self) -> str:
        return "127.0.0.1:50000"

    @property
    def account_key(self) -> str | None:
        return self._account_key

    @property
    def sub_account_id(self) -> str | None:
        return self._sub

    @property
    def extensions(self) -> frozenset[str]:
        return self._extensions

    def subscriptions(self) -> frozenset[str]:
        return frozenset(self.symbols)

    async def subscribe(self, symbols: list[str]) -> int:
        self.subscribe_calls.append(list(symbols))
        if len(self.symbols | set(symbols)) > self._limit:
            raise BadRequest(f"订阅数量超过上限 {self._limit}", field="securities")
        self.symbols |= set(symbols)
        return len(self.symbols)

    async def unsubscribe(self, symbols: list[str] | None) -> tuple[int, int]:
        gone = set(self.symbols) if symbols is None else self.symbols & set(symbols)
        self.symbols -= gone
        return len(self.symbols), len(gone)


class FakeBroker:
    """Broker keeping orders in a dict; tests drive status changes with :meth:`update`."""

    def __init__(self, accounts: tuple[AccountConfig, ...] = ACCOUNTS) -> None:
        self._accounts = list(accounts)
        self._listeners: list[BrokerListener] = []
        self.orders_by_id: dict[tuple[str, str], Order] = {}
        self.place_calls: list[tuple[str, PlaceOrder]] = []
        self.cancel_calls: list[tuple[str, str]] = []
        self.reject_with: OrderRejected | None = None
        self.fail_with: Exception | None = None
        self.gate: asyncio.Event | None = None
        self.submitted = asyncio.Event()
        self.queried = asyncio.Event()
        self.on_cancel: Callable[[Order], None] | None = None
        self.trade_rows: list[Trade] = []
        self.position_rows: list[Position] = []

    def accounts(self) -> list[AccountConfig]:
        return list(self._accounts)

    def _check(self, account_key: str) -> None:
        if account_key not in {a.key for a in self._accounts}:
            raise AssertionError(f"handler passed an unresolved account {account_key!r}")

    async def account(self, account_key: str) -> AccountSnapshot:
        self._check(account_key)
        config = next(a for a in self._accounts if a.key == account_key)
        return AccountSnapshot(
            account_key=account_key,
            account_id=config.account_id,
            account_type=config.account_type,
            available_cash=90_000.0,
            frozen_cash=1_000.0,
            positions=tuple(self.position_rows),
        )

    async def positions(self, account_key: str) -> list[Position]:
        self._check(account_key)
        return list(self.position_rows)

    async def orders(self, account_key: str) -> list[Order]:
        return [o for (acct, _), o in self.orders_by_id.items() if acct == account_key]

    async def trades(self, account_key: str) -> list[Trade]:
        return [t for t in self.trade_rows if t.account_key == account_key]

    async def order(self, account_key: str, order_id: str) -> Order | None:
        self.queried.set()
        return self.orders_by_id.get((account_key, order_id))

    async def place_order(self, account_key: str, command: PlaceOrder) -> Order:
        self._check(account_key)
        self.place_calls.append((account_key, command))
        self.submitted.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_with is not None:
            raise self.fail_with
        if self.reject_with is not None:
            raise self.reject_with
        order = Order(
            order_id=f"o{len(self.place_calls)}",
            account_key=account_key,
            security=command.security,
            side=command.side,
            order_type=command.order_type,
            amount=command.amount,
            status=OrderStatus.OPEN,
            raw_status=50,
            order_price=command.price,
            created_at=T0,
            remark=command.remark,
            strategy_name=command.strategy_name,
            idempotency_key=command.idempotency_key,
        )
        self.orders_by_id[(account_key, order.order_id)] = order
        return order

    async def cancel_order(self, account_key: str, order_id: str) -> CancelResult:
        self.cancel_calls.append((account_key, order_id))
        order = self.orders_by_id.get((account_key, order_id))
        if order is None or order.status.is_terminal:
            return CancelResult(accepted=False, order=order)
        canceling = self.update(account_key, order_id, OrderStatus.CANCELING)
        if self.on_cancel is not None:
            self.on_cancel(canceling)
        return CancelResult(accepted=True, order=canceling)

    def add_listener(self, listener: BrokerListener) -> None:
        self._listeners.append(listener)

    @property
    def listener_count(self) -> int:
        return len(self._listeners)

    def update(self, account_key: str, order_id: str, status: OrderStatus, **changes: Any) -> Order:
        """Change an order's status and notify listeners (like a broker callback)."""
        order = replace(
            self.orders_by_id[(account_key, order_id)],
            status=status,
            raw_status=RAW[status],
            **changes,
        )
        self.orders_by_id[(account_key, order_id)] = order
        for listener in list(self._listeners):
            listener(OrderUpdated(order=order))
        return order

    def add_order(
        self, account_key: str, order_id: str, security: str, status: OrderStatus
    ) -> Order:
        order = Order(
            order_id=order_id,
            account_key=account_key,
            security=parse_security(security),
            side=Side.BUY,
            order_type=OrderType.LIMIT,
            amount=100,
            status=status,
            raw_status=RAW[status],
            order_price=10.0,
            created_at=T0,
        )
        self.orders_by_id[(account_key, order_id)] = order
        return order


def bars(security: Security, count: int, start: datetime, step: timedelta) -> pd.DataFrame:
    """Deterministic bars: open = base + i, paused every third row of 600000.XSHG."""
    base = float(int(security.symbol) % 97)
    index = pd.DatetimeIndex([start + i * step for i in range(count)], name="time")
    rows = {
        "open": [base + i for i in range(count)],
        "close": [base + i + 0.5 for i in range(count)],
        "high": [base + i + 1 for i in range(count)],
        "low": [base + i - 1 for i in range(count)],
        "volume": [1000.0 * (i + 1) for i in range(count)],
        "money": [10000.0 * (i + 1) for i in range(count)],
        "paused": [
            1.0 if security.symbol == "600000" and i % 3 == 1 else 0.0 for i in range(count)
        ],
    }
    return pd.DataFrame(rows, index=index)


class FakeData:
    """DataProvider with deterministic answers; records the queries it got."""

    def __init__(self) -> None:
        self.queries: list[HistoryQuery] = []
        self.trade_day_calls: list[tuple[date | None, date | None, int | None]] = []

    async def history(self, query: HistoryQuery) -> pd.DataFrame:
        self.queries.append(query)
        if query.security.symbol == "000002":  # a security without data
            return pd.DataFrame(
                {c: pd.Series(dtype=float) for c in (*HISTORY_COLUMNS, "paused")},
                index=pd.DatetimeIndex([], name="time"),
            )
        start = datetime(2025, 1, 2) if query.security.symbol != "000001" else datetime(2025, 1, 3)
        return bars(query.security, query.count or 3, start, timedelta(days=1))

    async def quote(self, security: Security) -> Quote:
        return Quote(
            security=security,
            last_price=10.5,
            dt=T0,
            high_limit=11.55,
            low_limit=9.45,
            pre_close=10.5,
            day_open=10.4,
            high=10.8,
            low=10.3,
            volume=12345,
            money=129_000.0,
            name="平安银行",
        )

    async def trade_days(
        self, start: date | None = None, end: date | None = None, count: int | None = None
    ) -> list[date]:
        self.trade_day_calls.append((start, end, count))
        days = [date(2025, 1, 2), date(2025, 1, 3), date(2025, 1, 6)]
        return days[-count:] if count else days

    async def security_info(self, security: Security) -> SecurityInfo:
        return SecurityInfo(
            security=security, display_name="浦发银行", type="stock", start_date=date(1999, 11, 10)
        )

    async def subscribe_quotes(
        self, securities: list[Security], listener: QuoteListener
    ) -> Callable[[], None]:
        return lambda: None


def make_state(
    *,
    data: Any | None = None,
    broker: Any | None = None,
    trade_max_wait: float = 16.0,
    request_timeout: float = 60.0,
) -> ServerState:
    config = ServerConfig(
        token="tok",
        accounts=ACCOUNTS,
        trade_max_wait=trade_max_wait,
        request_timeout=request_timeout,
    )
    return ServerState(
        config=config,
        clock=ManualClock(T0),
        data=data,
        broker=broker,
        server_instance="inst-1",
        sessions=1,
    )


def make_ctx(
    state: ServerState, action: str = "test", session: FakeSession | None = None
) -> RequestContext:
    return RequestContext(
        state=state, session=session or FakeSession(), request_id="r1", action=action
    )
