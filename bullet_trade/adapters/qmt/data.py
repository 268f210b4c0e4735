"""``QmtDataAdapter``: the :class:`~bullet_trade.adapters.contracts.DataProvider` over
``xtquant.xtdata``.

Every xtdata call goes through one :class:`~.worker.XtWorker` (xtdata is not thread-safe),
off the event loop and with a timeout; while one call is hung inside the SDK, market data
requests fail fast with ``BackendUnavailable`` (the worker's trade-off). History is
local-first in xtquant, so a ``download_history_data`` for the code and period precedes the
first read of each trading day (never a subscription); ``history_batch`` reads many codes
with one ``get_market_data_ex`` call (after one ``download_history_data2`` for the codes not
yet downloaded, when the SDK has it). ``fq`` maps to ``dividend_type``:
``pre`` → ``front_ratio``, ``post`` → ``back_ratio``, ``none`` → ``none``. Quote
subscriptions are reference counted per code: one ``subscribe_quote`` for any number of
listeners, ``unsubscribe_quote`` when the last one leaves.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from bullet_trade.adapters.batch import concat_batches, take_queries
from bullet_trade.adapters.contracts import HistoryBatch, QuoteListener, check_history_query
from bullet_trade.adapters.qmt import convert, history_batch, reference
from bullet_trade.adapters.qmt.sdk import XtSdk, load_sdk
from bullet_trade.adapters.qmt.worker import XtWorker
from bullet_trade.errors import BackendUnavailable, BadRequest
from bullet_trade.model.clock import Clock, WallClock
from bullet_trade.model.codes import Security, parse_security
from bullet_trade.model.records import DividendEvent, HistoryQuery, Quote, SecurityInfo
from bullet_trade.model.rules import instrument_type

logger = logging.getLogger(__name__)

PERIODS = {"1d": "1d", "1m": "1m", "5m": "5m", "15m": "15m", "30m": "30m", "60m": "1h"}
DIVIDEND = {"pre": "front_ratio", "post": "back_ratio", "none": "none", None: "none"}


def _check(query: HistoryQuery) -> str:
    period = PERIODS.get(query.frequency)
    if period is None:
        raise BadRequest(f"frequency must be one of {', '.join(PERIODS)}", field="frequency")
    check_history_query(query)
    return period


def _stamp(value: datetime | date | None, daily: bool) -> str:
    if value is None:
        return ""
    return value.strftime("%Y%m%d" if daily or not isinstance(value, datetime) else "%Y%m%d%H%M%S")


class _Subscription:
    def __init__(self, seq: int, detail: dict[str, Any]) -> None:
        self.seq = seq
        self.detail = detail
        self.listeners: list[QuoteListener] = []


class QmtDataAdapter:
    """Market data from miniQMT (see module docstring).

    Args:
        clock: "today" for trade days and download bookkeeping.
        sdk: xtquant modules; imported on :meth:`start` when omitted.
        call_timeout: seconds one xtdata call may take.
        download_timeout: seconds one ``download_history_data`` may take.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        sdk: XtSdk | None = None,
        call_timeout: float = 10.0,
        download_timeout: float = 60.0,
    ) -> None:
        self._clock: Clock = clock or WallClock()
        self._sdk = sdk
        self._worker = XtWorker("xtdata", call_timeout)
        self._download_timeout = download_timeout
        self._downloaded: set[tuple[str, str, date]] = set()
        self._subs: dict[Security, _Subscription] = {}
        self._pending_unsubscribes: set[asyncio.Task[None]] = set()

    def readiness(self) -> dict[str, Any]:
        """For ``admin.health``: whether xtdata calls can be served."""
        ready = self._sdk is not None and self._worker.usable
        return {"ready": ready, "sdk_loaded": self._sdk is not None,
                "hung_calls": self._worker.wedged}

    @property
    def worker(self) -> XtWorker:
        """The serialising xtdata worker (diagnostics and tests)."""
        return self._worker

    @property
    def xtdata(self) -> Any:
        if self._sdk is None:
            self._sdk = load_sdk()
        return self._sdk.xtdata

    async def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return await self._worker.call(getattr(self.xtdata, name), *args, **kwargs)

    async def start(self) -> None:
        """Connect to xtdata.

        Raises:
            BackendUnavailable: xtquant missing or miniQMT's market data service unreachable.
        """
        self.xtdata.enable_hello = False
        try:
            await self._call("connect")
        except BackendUnavailable:
            raise
        except Exception as exc:  # the SDK raises bare Exception with a Chinese message
            raise BackendUnavailable(
                f"cannot reach miniQMT market data ({exc}); start miniQMT and log in"
            ) from None

    async def stop(self) -> None:
        await self.drain()
        for sub in list(self._subs.values()):
            await self._unsubscribe(sub)
        self._subs.clear()
        self._worker.close()

    # ------------------------------------------------------------------ history

    async def history(self, query: HistoryQuery) -> pd.DataFrame:
        """Bars via ``get_market_data_ex`` (see the contract for the frame)."""
        period = _check(query)
        security = parse_security(query.security)
        daily = period == "1d"
        await self._ensure_downloaded(security.qmt, period)
        count = -1 if query.count is None else query.count + (0 if daily else 1)
        result = await self._call(
            "get_market_data_ex", [], [security.qmt], period=period,
            start_time=_stamp(query.start, daily), end_time=_stamp(query.end, daily),
            count=count, dividend_type=DIVIDEND[query.fq], fill_data=True,
        )
        frame = convert.bars_from_xt((result or {}).get(security.qmt), daily=daily)
        if query.count is not None:
            frame = frame.iloc[-query.count:]
        return frame

    async def history_batch(self, queries: Sequence[HistoryQuery]) -> HistoryBatch:
        """Bars of many queries (the optional ``BatchHistoryProvider`` capability): one
        ``get_market_data_ex`` call per distinct (period, window, ``fq``) for all its codes.

        Same bars as :meth:`history` for each query, in ``queries`` order; raises what
        :meth:`history` raises for an invalid query (before any SDK call).
        """
        groups: dict[tuple[Any, ...], list[int]] = {}
        for i, query in enumerate(queries):
            key = (_check(query), query.start, query.end, query.count, query.fq)
            groups.setdefault(key, []).append(i)
        parts, order = [], []
        for (period, *_), positions in groups.items():
            parts.append(await self._history_group(period, [queries[i] for i in positions]))
            order.extend(positions)
        batch = concat_batches(parts) if parts else history_batch.daily_batch([], None)
        if order != sorted(order):
            batch = take_queries(batch, np.argsort(order).tolist())
        return batch

    async def _history_group(self, period: str, queries: list[HistoryQuery]) -> HistoryBatch:
        """Queries that differ only in their security: one xtdata read for all codes."""
        first, daily = queries[0], period == "1d"
        codes = [parse_security(q.security).qmt for q in queries]
        unique = list(dict.fromkeys(codes))
        await self._ensure_downloaded_many(unique, period)
        count = -1 if first.count is None else first.count + (0 if daily else 1)
        result = await self._call(
            "get_market_data_ex", [], unique, period=period,
            start_time=_stamp(first.start, daily), end_time=_stamp(first.end, daily),
            count=count, dividend_type=DIVIDEND[first.fq], fill_data=True,
        )
        frames = [(result or {}).get(code) for code in codes]
        build = history_batch.daily_batch if daily else history_batch.minute_batch
        return build(frames, first.count)

    async def _ensure_downloaded_many(self, codes: list[str], period: str) -> None:
        """Download the codes not yet downloaded today: one ``download_history_data2`` call
        when the SDK has it, else one ``download_history_data`` per code."""
        today = self._clock.now().date()
        missing = [c for c in codes if (c, period, today) not in self._downloaded]
        if len(missing) > 1 and hasattr(self.xtdata, "download_history_data2"):
            await self._worker.call(
                self.xtdata.download_history_data2, missing, period, "", "",
                timeout=self._download_timeout,
            )
            self._downloaded.update((c, period, today) for c in missing)
            return
        for code in missing:
            await self._ensure_downloaded(code, period)

    async def _ensure_downloaded(self, code: str, period: str) -> None:
        key = (code, period, self._clock.now().date())
        if key in self._downloaded:
            return
        await self._worker.call(
            self.xtdata.download_history_data, code, period, "", "",
            timeout=self._download_timeout,
        )
        self._downloaded.add(key)

    # ------------------------------------------------------------------ quotes and reference

    async def _detail(self, security: Security) -> dict[str, Any]:
        detail = await self._call("get_instrument_detail", security.qmt)
        if not detail:
            raise BadRequest(f"unknown security {security.jq}", field="security")
        return dict(detail)

    async def quote(self, security: Security) -> Quote:
        """``get_full_tick`` plus ``get_instrument_detail`` (limits, name)."""
        security = parse_security(security)
        detail = await self._detail(security)
        ticks = await self._call("get_full_tick", [security.qmt])
        tick = (ticks or {}).get(security.qmt)
        if tick is None:
            raise BackendUnavailable(f"no tick for {security.qmt} (not subscribed / no data)")
        return convert.quote_from_tick(security, tick, detail)

    async def trade_days(
        self, start: date | None = None, end: date | None = None, count: int | None = None
    ) -> list[date]:
        """``get_trading_dates('SH', ...)`` (epoch ms of Beijing midnight → dates)."""
        if start is not None and end is not None and start > end:
            raise BadRequest("start must not be after end", field="start")
        if count is not None and count <= 0:
            raise BadRequest(f"count must be positive, got {count}", field="count")
        end = end or self._clock.now().date()
        values = await self._call(
            "get_trading_dates", "SH", _stamp(start, True), _stamp(end, True),
            count if count is not None else -1,
        )
        days = sorted(convert.from_epoch_ms(v).date() for v in values or [])
        return [d for d in days if (start is None or d >= start) and d <= end]

    async def security_info(self, security: Security) -> SecurityInfo:
        security = parse_security(security)
        detail = await self._detail(security)
        kind, subtype = instrument_type(security)
        return SecurityInfo(
            security=security,
            display_name=str(detail.get("InstrumentName") or security.symbol),
            type=kind,
            subtype=subtype,
            start_date=convert.parse_ymd(detail.get("OpenDate")),
            end_date=convert.parse_ymd(detail.get("ExpireDate")),
        )

    async def all_securities(
        self, types: Sequence[str], date: date | None = None
    ) -> list[SecurityInfo]:
        """``ReferenceData``: sector members with their details (see :mod:`.reference`)."""
        return await reference.all_securities(self._worker, self.xtdata, types, date)

    async def index_stocks(self, index: Security, date: date | None = None) -> list[Security]:
        """``ReferenceData``: ``get_index_weight`` keys; ``date`` is ignored (no history)."""
        today = self._clock.now().date()
        return await reference.index_stocks(
            self._worker, self.xtdata, parse_security(index, field="index"), today,
            self._download_timeout,
        )

    async def split_dividend(
        self, security: Security, start: date | None = None, end: date | None = None
    ) -> list[DividendEvent]:
        """``ReferenceData``: ``get_divid_factors`` rows (see :mod:`.reference`)."""
        return await reference.split_dividend(
            self._worker, self.xtdata, parse_security(security), start, end
        )

    # ------------------------------------------------------------------ subscriptions

    async def subscribe_quotes(
        self, securities: list[Security], listener: QuoteListener
    ) -> Callable[[], None]:
        """Ticks pushed by ``subscribe_quote``; returns an idempotent unsubscribe."""
        codes = [parse_security(s) for s in securities]
        for security in codes:
            sub = self._subs.get(security)
            if sub is None:
                await self._subscribe(security, listener)
            else:
                sub.listeners.append(listener)
        done = [False]

        def unsubscribe() -> None:
            if done[0]:
                return
            done[0] = True
            for security in codes:
                self._leave(security, listener)

        return unsubscribe

    async def _subscribe(self, security: Security, listener: QuoteListener) -> None:
        """First subscription of ``security``: registered *before* ``subscribe_quote`` so the
        snapshot xtquant pushes at once is not dropped."""
        sub = self._subs[security] = _Subscription(0, await self._detail(security))
        sub.listeners.append(listener)
        loop = asyncio.get_running_loop()

        def on_data(datas: dict[str, list[dict[str, Any]]]) -> None:  # xtdata's thread
            for tick in (datas or {}).get(security.qmt, [])[-1:]:
                loop.call_soon_threadsafe(self._deliver, security, dict(tick))

        try:
            seq = await self._call(
                "subscribe_quote", security.qmt, period="tick", count=0, callback=on_data
            )
            if seq is None or int(seq) <= 0:
                raise BackendUnavailable(f"subscribe_quote({security.qmt}) failed ({seq})")
        except BaseException:
            self._subs.pop(security, None)
            raise
        sub.seq = int(seq)

    def _deliver(self, security: Security, tick: dict[str, Any]) -> None:
        sub = self._subs.get(security)
        if sub is None:
            return
        try:
            quote = convert.quote_from_tick(security, tick, sub.detail)
        except Exception:  # malformed push from the SDK: log, keep the feed
            logger.exception("bad tick for %s: %r", security, tick)
            return
        for listener in list(sub.listeners):
            try:
                listener(quote)
            except Exception:  # one listener's failure must not end the feed
                logger.exception("quote listener failed for %s", security)

    def _leave(self, security: Security, listener: QuoteListener) -> None:
        sub = self._subs.get(security)
        if sub is None or listener not in sub.listeners:
            return
        sub.listeners.remove(listener)
        if not sub.listeners:
            del self._subs[security]
            task = asyncio.get_running_loop().create_task(self._unsubscribe(sub))
            self._pending_unsubscribes.add(task)
            task.add_done_callback(self._pending_unsubscribes.discard)

    async def _unsubscribe(self, sub: _Subscription) -> None:
        try:
            await self._call("unsubscribe_quote", sub.seq)
        except Exception:  # I/O boundary: the subscription is gone from our side anyway
            logger.exception("unsubscribe_quote(%s) failed", sub.seq)

    async def drain(self) -> None:
        """Wait for pending ``unsubscribe_quote`` calls (tests and shutdown)."""
        await asyncio.gather(*self._pending_unsubscribes, return_exceptions=True)
