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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from bullet_trade.errors import BadRequest
from bullet_trade.model.codes import Security
from bullet_trade.model.records import (
    AccountConfig,
    AccountSnapshot,
    BrokerEvent,
    CancelResult,
    DividendEvent,
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


@dataclass(frozen=True, slots=True)
class HistoryBatch:
    """Bars of several :class:`HistoryQuery` at once, as plain numpy arrays (no DataFrame).

    The bars of every query are stored back to back, in query order:

    Attributes:
        lengths: int64, one entry per query: its number of bars (they sum to ``len(times)``).
        times: naive ``datetime64`` (unit ``s``, ``ms``, ``us`` or ``ns``), each query's
            bars ascending; the same instants as the ``DatetimeIndex`` :meth:`DataProvider.
            history` returns (bar end time, midnight for daily bars). An ``int64`` array is
            taken as nanoseconds and viewed as ``datetime64[ns]``.
        columns: column name → float64 array aligned with ``times``; the names and their
            order are those of :meth:`DataProvider.history`'s frame (``open, close, high,
            low, volume, money``, then ``paused`` when known), the same for every query.

    Raises:
        ValueError: (on construction) arrays of the wrong kind or length.
    """

    lengths: np.ndarray[Any, Any]
    times: np.ndarray[Any, Any]
    columns: Mapping[str, np.ndarray[Any, Any]]

    def __post_init__(self) -> None:
        times = self.times
        if times.dtype.kind == "i":
            times = times.astype(np.int64, copy=False).view("datetime64[ns]")
            object.__setattr__(self, "times", times)
        if times.ndim != 1 or times.dtype.kind != "M":
            raise ValueError(f"times must be a 1-d datetime64 array, got {times.dtype}")
        lengths = np.asarray(self.lengths, dtype=np.int64)
        object.__setattr__(self, "lengths", lengths)
        if lengths.ndim != 1 or int(lengths.sum()) != len(times) or (lengths < 0).any():
            raise ValueError("lengths must be one non-negative count per query, summing to "
                             "len(times)")
        for name, values in self.columns.items():
            if values.dtype != np.float64 or values.shape != times.shape:
                raise ValueError(f"column {name!r} must be float64 with one value per time")

    def frames(self) -> list[pd.DataFrame]:
        """One :meth:`DataProvider.history`-shaped frame per query (the general path)."""
        out = []
        stops = np.cumsum(self.lengths)
        for stop, length in zip(stops.tolist(), self.lengths.tolist(), strict=True):
            part = slice(stop - length, stop)
            index = pd.DatetimeIndex(self.times[part], name="time")
            data = {name: values[part] for name, values in self.columns.items()}
            out.append(pd.DataFrame(data, index=index, columns=list(self.columns)))
        return out


@runtime_checkable
class BatchHistoryProvider(Protocol):
    """Optional capability of a :class:`DataProvider`: bars of many securities in one call.

    A provider that can fetch many codes at once (xtdata's ``get_market_data_ex`` takes a
    stock list) or build bars as arrays implements it; the server's ``data.history`` then
    skips the per-security DataFrames. Providers without native support may implement it
    with :func:`bullet_trade.adapters.batch.history_batch_via_frames`. Callers check it with
    ``isinstance(provider, BatchHistoryProvider)`` and otherwise call ``history`` per query.
    """

    async def history_batch(self, queries: Sequence[HistoryQuery]) -> HistoryBatch:
        """The bars of every query (same content as :meth:`DataProvider.history` for each,
        in ``queries`` order). Raises what ``history`` raises for an invalid query."""
        ...


#: Instrument types :meth:`ReferenceData.all_securities` understands. ``fund`` means every
#: exchange-traded fund (ETFs included); the ``type`` column then says which kind it is.
SECURITY_TYPES = ("stock", "fund", "etf", "index")


def check_security_types(types: Sequence[str], field: str = "types") -> tuple[str, ...]:
    """Validate and de-duplicate requested instrument types (lower-cased, order kept).

    An empty sequence means ``("stock",)`` (JoinQuant's default).

    Raises:
        BadRequest: a type outside :data:`SECURITY_TYPES` (``field`` names the input).
    """
    out: list[str] = []
    for value in types:
        kind = value.strip().lower() if isinstance(value, str) else value
        if kind not in SECURITY_TYPES:
            raise BadRequest(
                f"{field} must be among {', '.join(SECURITY_TYPES)}, got {value!r}", field=field
            )
        if kind not in out:
            out.append(kind)
    return tuple(out) or ("stock",)


@runtime_checkable
class ReferenceData(Protocol):
    """Optional capability of a :class:`DataProvider`: the instrument list, index members
    and ex-dividend events (JoinQuant's ``get_all_securities``, ``get_index_stocks`` and
    ``get_split_dividend``).

    Callers check it with ``isinstance(provider, ReferenceData)``; the server answers the
    three ``data.*`` actions ``UNSUPPORTED`` for a provider without it. Results are
    consistent with :meth:`DataProvider.security_info` (same names, types and dates).
    """

    async def all_securities(
        self, types: Sequence[str], date: date | None = None
    ) -> list[SecurityInfo]:
        """Listed instruments of ``types`` (see :data:`SECURITY_TYPES`; empty = stocks),
        sorted by JoinQuant code. With ``date``, only those listed on that day
        (``start_date <= date <= end_date``); without it, every known one.

        Raises:
            BadRequest: an unknown type (field ``types``).
        """
        ...

    async def index_stocks(self, index: Security, date: date | None = None) -> list[Security]:
        """Constituents of ``index`` (on ``date`` when the backend keeps history, else the
        current ones), sorted by JoinQuant code; empty for a code with no known members."""
        ...

    async def split_dividend(
        self, security: Security, start: date | None = None, end: date | None = None
    ) -> list[DividendEvent]:
        """Ex-dividend events with ex-dates in ``[start, end]`` (either open), oldest first;
        empty for instruments without events (indices).

        Raises:
            BadRequest: ``start`` after ``end`` (field ``start``).
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


def check_history_query(query: HistoryQuery) -> None:
    """The backend-independent rules of a :class:`HistoryQuery` (each backend checks the
    frequencies it supports itself).

    Raises:
        BadRequest: ``fq`` not pre/post/none, ``count`` not positive, both ``start`` and
            ``count``, or ``start`` after ``end`` (``field`` names the input).
    """
    if query.fq not in ("pre", "post", "none", None):  # None: unadjusted (JoinQuant fq=None)
        raise BadRequest(f"fq must be pre, post or none, got {query.fq!r}", field="fq")
    if query.count is not None and query.count <= 0:
        raise BadRequest(f"count must be positive, got {query.count}", field="count")
    if query.count is not None and query.start is not None:
        raise BadRequest("give either start or count, not both", field="count")
    if query.start is not None and query.end is not None and query.start > query.end:
        raise BadRequest("start must not be after end", field="start")
