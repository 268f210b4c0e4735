"""Process-wide tick fan-out.

The backend is subscribed once per security, however many sessions want it: the fan-out keeps,
per :class:`~bullet_trade.model.codes.Security`, the sessions (sinks) and the spellings each
used (``000001.XSHE`` and ``000001.SZ`` are the same security but each session gets ticks
labelled the way it subscribed). The backend subscription is cancelled when the last
(sink, spelling) pair leaves.

Quotes arrive from the backend's own feed (``DataProvider.subscribe_quotes``) on the event
loop thread; each becomes one ``tick`` event per (sink, spelling), handed to the sink without
awaiting (sinks buffer and conflate, see ``server/outbox.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from bullet_trade.adapters.contracts import DataProvider
from bullet_trade.errors import BadRequest
from bullet_trade.model.codes import Security, parse_security
from bullet_trade.model.records import Quote
from bullet_trade.wire.messages import Event

logger = logging.getLogger("bullet_trade.server.push")


class TickSink(Protocol):
    """Something that accepts pushed ticks without blocking (a session)."""

    def push_tick(self, symbol: str, event: Event) -> None: ...


@dataclass(slots=True)
class _Entry:
    cancel: Callable[[], None]
    sinks: dict[TickSink, set[str]] = field(default_factory=dict)


class TickFanout:
    """Reference-counted backend subscriptions shared by every session.

    Args:
        data: the market-data backend whose ``subscribe_quotes`` feeds the ticks.
    """

    def __init__(self, data: DataProvider) -> None:
        self._data = data
        self._entries: dict[Security, _Entry] = {}
        # serialises backend subscribe calls so two sessions never subscribe one security twice
        self._lock = asyncio.Lock()

    def securities(self) -> frozenset[Security]:
        """Securities with a live backend subscription."""
        return frozenset(self._entries)

    async def add(self, sink: TickSink, symbols: Iterable[str]) -> None:
        """Route ticks of ``symbols`` (uppercased spellings) to ``sink``.

        All-or-nothing: every symbol is parsed first, and if a backend subscription fails (or
        the call is cancelled) the pairs added by this call are removed again.

        Raises:
            BadRequest: a symbol is not a security code (``field="securities"``).
            BulletTradeError: whatever the backend raised.
        """
        pairs = [(symbol, parse_security(symbol, field="securities")) for symbol in symbols]
        async with self._lock:
            added: list[tuple[str, Security]] = []
            try:
                for symbol, security in pairs:
                    entry = self._entries.get(security)
                    if entry is None:
                        entry = await self._subscribe(security)
                    entry.sinks.setdefault(sink, set()).add(symbol)
                    added.append((symbol, security))
            except BaseException:
                self._release(sink, added)
                raise

    def remove(self, sink: TickSink, symbols: Iterable[str]) -> None:
        """Stop routing ``symbols`` to ``sink``; unknown symbols are ignored."""
        pairs = []
        for symbol in symbols:
            try:
                pairs.append((symbol, parse_security(symbol, field="securities")))
            except BadRequest:  # never subscribed, so nothing to remove
                continue
        self._release(sink, pairs)

    def remove_sink(self, sink: TickSink) -> None:
        """Remove every route of ``sink`` (session closed)."""
        pairs = [
            (symbol, security)
            for security, entry in list(self._entries.items())
            for symbol in entry.sinks.get(sink, ())
        ]
        self._release(sink, pairs)

    def close(self) -> None:
        """Cancel every backend subscription (server shutdown)."""
        entries = list(self._entries.items())
        self._entries.clear()
        for security, entry in entries:
            self._cancel(security, entry)

    # ------------------------------------------------------------ internals

    async def _subscribe(self, security: Security) -> _Entry:
        def listener(quote: Quote) -> None:
            self._deliver(security, quote)

        cancel = await self._data.subscribe_quotes([security], listener)
        entry = _Entry(cancel=cancel)
        self._entries[security] = entry
        logger.debug("backend subscription opened for %s", security)
        return entry

    def _release(self, sink: TickSink, pairs: Iterable[tuple[str, Security]]) -> None:
        for symbol, security in pairs:
            entry = self._entries.get(security)
            if entry is None:
                continue
            spellings = entry.sinks.get(sink)
            if spellings is None:
                continue
            spellings.discard(symbol)
            if not spellings:
                del entry.sinks[sink]
            if not entry.sinks:
                del self._entries[security]
                self._cancel(security, entry)

    @staticmethod
    def _cancel(security: Security, entry: _Entry) -> None:
        try:
            entry.cancel()
        except Exception:  # backend boundary: a failing cancel must not break session close
            logger.exception("cancelling the quote subscription of %s failed", security)
        else:
            logger.debug("backend subscription closed for %s", security)

    def _deliver(self, security: Security, quote: Quote) -> None:
        entry = self._entries.get(security)
        if entry is None:
            return
        try:
            tick = quote.tick_wire()
        except Exception:  # backend boundary: a bad quote must not kill the feed callback
            logger.exception("cannot convert a quote of %s to a tick", security)
            return
        for sink, spellings in list(entry.sinks.items()):
            for symbol in spellings:
                sink.push_tick(symbol, Event(event="tick", payload={"symbol": symbol, **tick}))
