"""Tick subscriptions: ``subscribe``/``unsubscribe`` and the ``handle_tick`` dispatcher.

Quotes pushed by :meth:`DataProvider.subscribe_quotes` arrive on the event loop thread; they
are queued and handed to ``handle_tick(context, tick)`` on the strategy thread one at a time,
never concurrently with a scheduled callback (the strategy thread runs one call at a time).
Ticks are conflated per security while the strategy is busy: only the newest is delivered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bullet_trade.adapters.contracts import DataProvider
from bullet_trade.model.codes import Security
from bullet_trade.model.records import Quote

log = logging.getLogger(__name__)


def _noop() -> None:
    pass


class TickFeed:
    """The strategy's tick subscriptions on one data provider (event loop side)."""

    def __init__(self, data: DataProvider, limit: int) -> None:
        self._data = data
        self._limit = limit
        self._cancel: dict[Security, Callable[[], None]] = {}
        self._latest: dict[Security, Quote] = {}  # not yet delivered to handle_tick
        self._last: dict[Security, Quote] = {}  # newest received, kept for get_current_tick
        self._ready = asyncio.Event()
        self.stopping = False

    @property
    def securities(self) -> list[Security]:
        return list(self._cancel)

    async def subscribe(self, securities: list[Security]) -> None:
        """Add subscriptions (already subscribed codes are ignored).

        Raises:
            ValueError: the total would exceed the subscription limit.
        """
        new = [s for s in dict.fromkeys(securities) if s not in self._cancel]
        if len(self._cancel) + len(new) > self._limit:
            raise ValueError(f"at most {self._limit} tick subscriptions are allowed")
        for security in new:
            self._cancel[security] = _noop  # quotes pushed during the call are kept
            try:
                cancel = await self._data.subscribe_quotes([security], self._on_quote)
            except BaseException:
                self._cancel.pop(security, None)
                raise
            self._cancel[security] = cancel

    def unsubscribe(self, securities: list[Security] | None = None) -> None:
        """Drop the given subscriptions (all when ``None``)."""
        for security in list(self._cancel) if securities is None else securities:
            cancel = self._cancel.pop(security, None)
            if cancel is not None:
                cancel()
            self._latest.pop(security, None)
            self._last.pop(security, None)

    def latest(self, security: Security) -> Quote | None:
        """The newest quote pushed for a subscribed ``security`` (``None``: none yet)."""
        return self._last.get(security)

    def _on_quote(self, quote: Quote) -> None:
        if quote.security in self._cancel:
            self._latest[quote.security] = quote
            self._last[quote.security] = quote
            self._ready.set()

    def stop(self) -> None:
        """Wake the dispatcher for a last delivery; it ends after delivering."""
        self.stopping = True
        self._ready.set()

    def take(self) -> list[Quote]:
        """The pending quotes (newest per security), without waiting."""
        self._ready.clear()
        batch, self._latest = list(self._latest.values()), {}
        return batch

    async def next_batch(self) -> list[Quote]:
        """Wait for ticks and return the newest quote of each security that moved."""
        await self._ready.wait()
        return self.take()
