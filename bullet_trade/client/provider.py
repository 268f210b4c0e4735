"""``AsyncRemoteProvider``: the :class:`~bullet_trade.adapters.contracts.DataProvider`
contract (and the optional ``ReferenceData`` capability) over the network, plus the v1-shaped
methods the sync facade forwards to.

Every data action is idempotent, so every call may be retried once after a reconnect.
``data.history`` replies are decoded from the v1 envelope or, when the connection negotiated
``history.columnar.v1`` (:data:`PROVIDER_EXTENSIONS`), from the columnar encoding.
Tick subscriptions are reference counted per symbol: the server is asked to stop a symbol only
when its last local subscriber leaves (the published client shared them blindly, W-P7).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd

from bullet_trade.adapters.contracts import HISTORY_COLUMNS, QuoteListener
from bullet_trade.client.connection import AsyncConnection
from bullet_trade.client.convert import (
    first,
    parse_datetime,
    quote_from_wire,
    security_info_from_wire,
    unwrap_value,
)
from bullet_trade.client.reference import (
    event_from_wire,
    event_rows,
    index_members,
    securities_from_frame,
    types_payload,
)
from bullet_trade.errors import BadRequest
from bullet_trade.model.codes import Security, parse_security
from bullet_trade.model.records import DividendEvent, HistoryQuery, Quote, SecurityInfo
from bullet_trade.wire import columnar
from bullet_trade.wire.envelopes import payload_to_dataframe
from bullet_trade.wire.messages import Event

log = logging.getLogger(__name__)

TickCallback = Callable[[dict[str, Any]], Any]
DateLike = str | date | datetime | pd.Timestamp | None

_MINUTE = ("m", "minute")

#: Extensions a data connection should ask for: bulk history in the columnar encoding
#: (:mod:`bullet_trade.wire.columnar`); a v1 server ignores the request.
PROVIDER_EXTENSIONS: tuple[str, ...] = (columnar.EXTENSION,)


def history_frame(reply: Any) -> pd.DataFrame:
    """Decode a ``data.history`` reply: the columnar encoding when the server used it
    (negotiated), else the v1 dataframe envelope."""
    if columnar.is_columnar(reply):
        return columnar.columnar_to_dataframe(reply)
    return payload_to_dataframe(reply)


def _format_date(value: DateLike, frequency: str) -> str | None:
    """``YYYY-MM-DD``, or ``YYYY-MM-DD HH:MM:SS`` for minute frequencies (v1 convention)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    moment = pd.Timestamp(value)
    minute = frequency.endswith(_MINUTE)
    text: str = moment.strftime("%Y-%m-%d %H:%M:%S" if minute else "%Y-%m-%d")
    return text


def restore_time_index(frame: pd.DataFrame) -> pd.DataFrame:
    """Give a history frame its ``time`` DatetimeIndex.

    Index metadata (extension of the 0.10.0 client) is already applied by
    :func:`payload_to_dataframe`; for v1 servers that only send a ``time`` column (epoch
    milliseconds or text), that column becomes the index.
    """
    if isinstance(frame.index, pd.DatetimeIndex) or "time" not in frame.columns:
        return frame
    if isinstance(frame.columns, pd.MultiIndex):
        return frame
    column = frame["time"]
    if pd.api.types.is_numeric_dtype(column):
        index = pd.to_datetime(column, unit="ms", utc=True).dt.tz_convert("Asia/Shanghai")
        index = index.dt.tz_localize(None)
    else:
        index = pd.to_datetime(column)
    body: pd.DataFrame = frame.drop(columns=["time"])
    body.index = pd.DatetimeIndex(index, name="time")
    return body


def tick_from_event(payload: dict[str, Any]) -> dict[str, Any]:
    """A pushed tick as the strategy sees it: JQ ``sid`` plus the server's fields."""
    tick = dict(payload)
    code = first(payload, "symbol", "sid")
    try:
        tick["sid"] = parse_security(code).jq
    except BadRequest:  # a server may push a symbol we cannot parse: pass it on as sent
        tick["sid"] = code
    if "last_price" not in tick and "lastPrice" in tick:
        tick["last_price"] = tick["lastPrice"]
    tick.setdefault("dt", first(payload, "time", "datetime"))
    return tick


class AsyncRemoteProvider:
    """Market data over one :class:`AsyncConnection`."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._tick_listeners: dict[str, list[TickCallback]] = {}
        self._remove_tick_handler: Callable[[], None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def connection(self) -> AsyncConnection:
        return self._conn

    # ------------------------------------------------------------------ v1-shaped

    async def get_price(
        self,
        security: str | list[str],
        start_date: DateLike = None,
        end_date: DateLike = None,
        frequency: str = "daily",
        fields: list[str] | None = None,
        *,
        count: int | None = None,
        fq: str | None = "pre",
        panel: bool = True,
        skip_paused: bool = False,
        fill_paused: bool = True,
    ) -> pd.DataFrame:
        """``data.history``; the frame's time index is restored when the server sends it.

        ``panel``, ``skip_paused`` and ``fill_paused`` are forwarded (they were dropped by the
        published client, W-P12).
        """
        payload = {
            "security": security, "start": _format_date(start_date, frequency),
            "end": _format_date(end_date, frequency), "count": count, "frequency": frequency,
            "fields": fields, "fq": fq, "panel": panel, "skip_paused": skip_paused,
            "fill_paused": fill_paused, "pre_factor_ref_date": None,
        }
        reply = await self._conn.read("data.history", payload)
        return restore_time_index(history_frame(reply))

    async def get_trade_days(
        self, start_date: DateLike = None, end_date: DateLike = None, count: int | None = None
    ) -> list[pd.Timestamp]:
        payload = {
            "start": _format_date(start_date, "1d"), "end": _format_date(end_date, "1d"),
            "count": count,
        }
        reply = await self._conn.read("data.trade_days", payload)
        values = reply.get("values", reply.get("value")) if isinstance(reply, dict) else reply
        return [pd.Timestamp(v).normalize() for v in values or []]

    async def get_security_info(self, security: str) -> dict[str, Any]:
        reply = await self._conn.read("data.security_info", {"security": security})
        return unwrap_value(reply)

    async def get_current_tick(self, security: str) -> dict[str, Any]:
        """``data.snapshot`` (``{sid, last_price, dt}``; ``{}`` when unknown)."""
        reply = await self._conn.read("data.snapshot", {"security": security})
        return reply if isinstance(reply, dict) else {}

    async def get_live_current(self, security: str) -> dict[str, Any]:
        """``data.live_current`` (``last_price``, limits, ``paused``...)."""
        reply = await self._conn.read("data.live_current", {"security": security})
        return reply if isinstance(reply, dict) else {}

    async def get_all_securities(
        self, types: str | Sequence[str] | None = "stock", date: DateLike = None
    ) -> pd.DataFrame:
        """``data.get_all_securities``: the frame as sent (indexed by ``code``; columns
        ``display_name, name, start_date, end_date, type, qmt_code``, dates as text)."""
        payload = {"types": types_payload(types), "date": _format_date(date, "1d")}
        reply = await self._conn.read("data.get_all_securities", payload)
        return payload_to_dataframe(reply)

    async def get_index_stocks(self, index_symbol: str, date: DateLike = None) -> list[str]:
        """``data.get_index_stocks``: JoinQuant codes of the index's constituents."""
        payload = {"index_symbol": index_symbol, "date": _format_date(date, "1d")}
        return index_members(await self._conn.read("data.get_index_stocks", payload))

    async def get_split_dividend(
        self, security: str, start_date: DateLike = None, end_date: DateLike = None
    ) -> list[dict[str, Any]]:
        """``data.get_split_dividend``: the v1 event rows (``security, date, security_type,
        scale_factor, bonus_pre_tax, per_base``), oldest first."""
        payload = {
            "security": security, "start": _format_date(start_date, "1d"),
            "end": _format_date(end_date, "1d"),
        }
        return event_rows(await self._conn.read("data.get_split_dividend", payload))

    async def subscribe_ticks(self, symbols: Iterable[str], callback: TickCallback) -> None:
        """Call ``callback(tick_dict)`` for each pushed tick of ``symbols`` (JQ or QMT)."""
        codes = [parse_security(s).jq for s in symbols]
        if self._remove_tick_handler is None:
            self._remove_tick_handler = self._conn.add_event_listener("tick", self._on_tick)
        new = [c for c in codes if not self._tick_listeners.get(c)]
        for code in codes:
            self._tick_listeners.setdefault(code, []).append(callback)
        if new:
            await self._conn.subscribe(new)

    async def unsubscribe_ticks(
        self, symbols: Iterable[str] | None = None, callback: TickCallback | None = None
    ) -> None:
        """Remove ``callback`` (every callback when ``None``) from ``symbols`` (all when
        ``None``); symbols left without callbacks are unsubscribed on the server."""
        codes = list(self._tick_listeners) if symbols is None else [
            parse_security(s).jq for s in symbols
        ]
        gone: list[str] = []
        for code in codes:
            kept = [c for c in self._tick_listeners.get(code, []) if callback not in (None, c)]
            if kept:
                self._tick_listeners[code] = kept
            elif self._tick_listeners.pop(code, None) is not None:
                gone.append(code)
        if gone:
            await self._conn.unsubscribe(gone)

    def _on_tick(self, message: Event) -> None:
        tick = tick_from_event(message.payload)
        for callback in list(self._tick_listeners.get(str(tick.get("sid")), ())):
            try:
                callback(tick)
            except Exception:
                log.exception("tick callback %r failed", callback)

    # ------------------------------------------------------------------ DataProvider contract

    async def history(self, query: HistoryQuery) -> pd.DataFrame:
        frame = await self.get_price(
            query.security.jq, start_date=query.start, end_date=query.end,
            frequency=query.frequency, count=query.count, fq=query.fq, panel=False,
        )
        if frame.empty:
            empty: pd.DataFrame = pd.DataFrame(columns=list(HISTORY_COLUMNS), dtype=float)
            empty.index = pd.DatetimeIndex([], name="time")
            return empty
        numeric: pd.DataFrame = frame.apply(pd.to_numeric, errors="coerce").astype(float)
        ordered: pd.DataFrame = numeric.sort_index()
        return ordered

    async def quote(self, security: Security) -> Quote:
        """``data.live_current``, completed with ``data.snapshot`` when it lacks a price or
        time."""
        live = await self.get_live_current(security.jq)
        snapshot: dict[str, Any] | None = None
        if first(live, "last_price", "lastPrice") is None or first(live, "dt", "time") is None:
            snapshot = await self.get_current_tick(security.jq)
        return quote_from_wire(security, live, snapshot)

    async def trade_days(
        self, start: date | None = None, end: date | None = None, count: int | None = None
    ) -> list[date]:
        days = await self.get_trade_days(start, end, count)
        return [d.date() for d in days]

    async def security_info(self, security: Security) -> SecurityInfo:
        reply = await self._conn.read("data.security_info", {"security": security.jq})
        return security_info_from_wire(reply)

    # ------------------------------------------------------------------ ReferenceData

    async def all_securities(
        self, types: Sequence[str], date: date | None = None
    ) -> list[SecurityInfo]:
        return securities_from_frame(await self.get_all_securities(list(types), date))

    async def index_stocks(self, index: Security, date: date | None = None) -> list[Security]:
        codes = await self.get_index_stocks(index.jq, date)
        return [parse_security(code) for code in codes]

    async def split_dividend(
        self, security: Security, start: date | None = None, end: date | None = None
    ) -> list[DividendEvent]:
        rows = await self.get_split_dividend(security.jq, start, end)
        return [event_from_wire(row, security) for row in rows]

    async def subscribe_quotes(
        self, securities: list[Security], listener: QuoteListener
    ) -> Callable[[], None]:
        """Push :class:`Quote` records from ``tick`` events; returns the cancel function
        (it schedules the server-side unsubscribe on the running loop)."""

        def on_tick(tick: dict[str, Any]) -> None:
            moment = parse_datetime(tick.get("dt"))
            fields = {**tick, "dt": moment} if moment else tick
            listener(quote_from_wire(parse_security(tick["sid"]), fields))

        await self.subscribe_ticks([s.jq for s in securities], on_tick)
        loop = asyncio.get_running_loop()

        def cancel() -> None:
            task = loop.create_task(self.unsubscribe_ticks([s.jq for s in securities], on_tick))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        return cancel
