"""``SimDataAdapter``: the :class:`~bullet_trade.adapters.contracts.DataProvider` of the
simulated exchange."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta

import pandas as pd

from bullet_trade.adapters.contracts import QuoteListener, check_history_query, check_security_types
from bullet_trade.adapters.sim import dividends, reference
from bullet_trade.adapters.sim.bars import FREQUENCIES, daily_history, minute_history
from bullet_trade.adapters.sim.market import SimMarket
from bullet_trade.adapters.sim.tasks import spawn
from bullet_trade.adapters.sim.universe import ORIGIN, security_info
from bullet_trade.config import SimConfig
from bullet_trade.errors import BadRequest
from bullet_trade.model.codes import Security, parse_security
from bullet_trade.model.records import DividendEvent, HistoryQuery, Quote, SecurityInfo

logger = logging.getLogger(__name__)



class SimDataAdapter:
    """Market data of the simulated exchange.

    Every call first awaits ``SimConfig.latency`` seconds (real time), so tests can provoke
    head-of-line blocking. Data never reaches past the market's current moment.
    """

    def __init__(self, market: SimMarket, config: SimConfig) -> None:
        self.market = market
        self._config = config
        self._subscriptions: set[asyncio.Task[None]] = set()

    async def _delay(self) -> None:
        if self._config.latency > 0:
            await asyncio.sleep(self._config.latency)

    async def history(self, query: HistoryQuery) -> pd.DataFrame:
        """Bars of one security (see :mod:`.bars` for what is visible).

        ``end`` at or after the clock's now (or ``None``) means "up to now"; in ``always-open``
        mode this is how a query for the latest bars reaches the virtual moment.

        Raises:
            BadRequest: unknown frequency or fq, non-positive count, both ``start`` and
                ``count``, or ``start`` after ``end`` (``field`` names the input).
        """
        await self._delay()
        n = _validate(query)
        security = parse_security(query.security)
        moment = self.market.moment()
        end = query.end if query.end is not None and query.end < self.market.clock.now() else None
        start = query.start or datetime.combine(ORIGIN, time())
        if n == 0:
            end_day = end.date() if end is not None else moment.day
            window = (start.date(), end_day, query.count)
            return daily_history(self.market, security, moment, window, query.fq)
        window_m = (start, end, query.count)
        return minute_history(self.market, security, moment, window_m, n, query.fq)

    async def split_dividend(
        self, security: Security, start: date | None = None, end: date | None = None
    ) -> list[DividendEvent]:
        """Ex-dividend events of ``security`` with ex-dates in ``[start, end]``, oldest first
        (see :mod:`.dividends`; ``to_wire()`` gives the v1 ``data.get_split_dividend`` row).

        ``start`` defaults to the first simulated day, ``end`` to the market's current day
        (later dates are clipped to it: no future events). Indices and bonds have none.

        Raises:
            BadRequest: an invalid code (``security``) or ``start`` after ``end``.
        """
        await self._delay()
        code = parse_security(security)
        if start is not None and end is not None and start > end:
            raise BadRequest("start must not be after end", field="start")
        today = self.market.moment().day
        start = max(start or ORIGIN, ORIGIN)
        end = min(end or today, today)
        prices = self.market.prices
        days = prices.index_range(start, end)
        if not days:
            return []
        events = prices.ex_events(code, days[0], days[-1])
        return [dividends.as_event(code, prices.day_at(e.index), e) for e in events]

    async def all_securities(
        self, types: Sequence[str], date: date | None = None
    ) -> list[SecurityInfo]:
        """The universe's listing filtered by ``types`` (see :mod:`.reference`), sorted by
        code; ``BadRequest`` (field ``types``) for an unknown type."""
        await self._delay()
        return reference.all_securities(check_security_types(types), date)

    async def index_stocks(self, index: Security, date: date | None = None) -> list[Security]:
        """Constituents of ``index`` (see :mod:`.reference`); ``BadRequest`` (field
        ``index``) for an invalid code, empty for an index without constituents."""
        await self._delay()
        return reference.index_stocks(parse_security(index, field="index"), date)

    async def quote(self, security: Security) -> Quote:
        """Quote at the market's current moment (limits from the previous close)."""
        await self._delay()
        return self.market.quote(parse_security(security))

    async def trade_days(
        self, start: date | None = None, end: date | None = None, count: int | None = None
    ) -> list[date]:
        """Trading days from the simulator's calendar; ``end`` defaults to the clock's date."""
        await self._delay()
        if start is not None and end is not None and start > end:
            raise BadRequest("start must not be after end", field="start")
        end = end if end is not None else self.market.clock.now().date()
        return self.market.calendar.trade_days(start, end, count)

    async def security_info(self, security: Security) -> SecurityInfo:
        """Any valid code exists; ``BadRequest`` (field ``security``) for an invalid one."""
        await self._delay()
        return security_info(security)

    async def subscribe_quotes(
        self, securities: list[Security], listener: QuoteListener
    ) -> Callable[[], None]:
        """Push one quote per security at once, then every ``tick_interval`` clock seconds.

        Returns:
            A function that ends this subscription (idempotent).
        """
        await self._delay()
        codes = [parse_security(s) for s in securities]
        task = spawn(self._push_quotes(codes, listener), name=f"sim-quotes-{len(codes)}")
        self._subscriptions.add(task)
        task.add_done_callback(self._subscriptions.discard)

        def unsubscribe() -> None:
            task.cancel()

        return unsubscribe

    async def close(self) -> None:
        """Cancel every subscription task and wait for them to end."""
        tasks = list(self._subscriptions)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _push_quotes(self, codes: list[Security], listener: QuoteListener) -> None:
        clock = self.market.clock
        interval = timedelta(seconds=self._config.tick_interval)
        while True:
            for code in codes:
                try:
                    listener(self.market.quote(code))
                except Exception:  # a listener's failure must not end the feed
                    logger.exception("quote listener failed for %s", code)
            await clock.sleep_until(clock.now() + interval)


def _validate(query: HistoryQuery) -> int:
    """Minutes per bar of the query's frequency (0 for daily), after checking the inputs."""
    n = FREQUENCIES.get(query.frequency)
    if n is None:
        raise BadRequest(
            f"frequency must be one of {', '.join(FREQUENCIES)}, got {query.frequency!r}",
            field="frequency",
        )
    check_history_query(query)
    return n
