"""The two contracts every backend implements: :class:`Broker` (trading) and
:class:`DataProvider` (market data).

Three implementations sit behind each contract: the simulated exchange (``adapters/sim``),
miniQMT over xtquant (``adapters/qmt``) and the network client (``client/``). The server
exposes any of them over the wire; the live runner drives any of them.

Rules for implementations:

* Every method is ``async``; none may block the event loop (run blocking SDK calls in a
  worker thread).
* Codes come in and go out as :class:`~bullet_trade.model.codes.Security`.
* Failures raise :mod:`bullet_trade.errors` classes: ``UnknownAccount`` for an account key the
  backend does not have, ``BadRequest`` (with ``field``) for invalid input,
  ``OrderRejected`` (with ``reason``) for an order the market or a rule refuses,
  ``BackendUnavailable`` when the backend is disconnected.
* Listeners registered with :meth:`Broker.add_listener` are called on the event loop thread,
  once per change, in the order the changes happened.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Protocol, runtime_checkable

import pandas as pd

from bullet_trade.model.codes import Security
from bullet_trade.model.records import (
    AccountConfig,
    AccountSnapshot,
    BrokerEvent,
    CancelResult,
    HistoryQuery,
    Order,
    PlaceOrder,
    Position,
    Quote,
    SecurityInfo,
    Trade,
)

BrokerListener = Callable[[BrokerEvent], None]
QuoteListener = Callable[[Quote], None]

HISTORY_COLUMNS = ("open", "close", "high", "low", "volume", "money")


@runtime_checkable
class DataProvider(Protocol):
    """Market data."""

    async def history(self, query: HistoryQuery) -> pd.DataFrame:
        """Bars for one security.

        Returns a DataFrame with a ``DatetimeIndex`` named ``time`` (bar end time for minute
        bars, midnight for daily bars), ascending, and float columns
        ``open, close, high, low, volume, money`` (volume in shares) plus ``paused`` (0/1) when
        known. Empty frame (same columns) when there is no data in range.
        """
        ...

    async def quote(self, security: Security) -> Quote:
        """Current market state (last price, limits, paused)."""
        ...

    async def trade_days(
        self, start: date | None = None, end: date | None = None, count: int | None = None
    ) -> list[date]:
        """Trading days, ascending. ``count`` takes the last ``count`` days up to ``end``
        (default today)."""
        ...

    async def security_info(self, security: Security) -> SecurityInfo:
        """Static description; ``BadRequest`` (field ``security``) for an unknown code."""
        ...

    async def subscribe_quotes(
        self, securities: list[Security], listener: QuoteListener
    ) -> Callable[[], None]:
        """Push quotes for ``securities`` to ``listener`` from the backend's own feed.

        Returns a function that cancels this subscription.
        """
        ...


@runtime_checkable
class Broker(Protocol):
    """Trading on one or more accounts, selected by account key."""

    def accounts(self) -> list[AccountConfig]:
        """The configured accounts, in configuration order."""
        ...

    async def account(self, account_key: str) -> AccountSnapshot:
        """Cash and positions."""
        ...

    async def positions(self, account_key: str) -> list[Position]:
        ...

    async def orders(self, account_key: str) -> list[Order]:
        """Orders of the current trading day (open and closed)."""
        ...

    async def trades(self, account_key: str) -> list[Trade]:
        """Fills of the current trading day."""
        ...

    async def order(self, account_key: str, order_id: str) -> Order | None:
        """One order, or ``None`` when the id is unknown."""
        ...

    async def place_order(self, account_key: str, command: PlaceOrder) -> Order:
        """Submit; returns the order snapshot right after submission.

        Raises ``OrderRejected`` (with ``reason``) when the order is refused synchronously.
        An order refused later shows up as status ``rejected`` in events and queries.
        """
        ...

    async def cancel_order(self, account_key: str, order_id: str) -> CancelResult:
        """Request a cancel; ``accepted`` is False for unknown or already-terminal orders."""
        ...

    def add_listener(self, listener: BrokerListener) -> None:
        """Register a callback for order/trade/account/backend events."""
        ...

    def remove_listener(self, listener: BrokerListener) -> None:
        """Stop calling ``listener``; no error when it is not registered (idempotent)."""
        ...
