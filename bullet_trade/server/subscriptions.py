"""The quote subscriptions of one session (``data.subscribe`` / ``data.unsubscribe``).

Symbols are stripped and uppercased; changes are all-or-none and serialised by a lock, so
two concurrent subscribe requests of one session cannot overshoot ``max_subscriptions``.
The shared backend subscription of each symbol is managed by
:class:`~bullet_trade.server.push.TickFanout`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bullet_trade.errors import BadRequest, Unsupported
from bullet_trade.server.push import TickFanout


def normalise(symbols: list[str]) -> list[str]:
    """Stripped, uppercased symbols; empty and non-string entries dropped."""
    return [s.strip().upper() for s in symbols if isinstance(s, str) and s.strip()]


class Subscriptions:
    """Insertion-ordered set of the symbols a session receives ticks for.

    Args:
        sink: the session (what the fan-out pushes ticks to).
        fanout: the tick fan-out, or ``None`` when the data service is disabled.
        limit: ``max_subscriptions``.
        is_closed: True once the session closed (a late subscribe then changes nothing).
    """

    def __init__(
        self, sink: Any, fanout: TickFanout | None, limit: int, is_closed: Callable[[], bool]
    ) -> None:
        self._sink = sink
        self._fanout = fanout
        self._limit = limit
        self._is_closed = is_closed
        self._symbols: dict[str, None] = {}
        self._lock = asyncio.Lock()

    def symbols(self) -> frozenset[str]:
        return frozenset(self._symbols)

    async def add(self, symbols: list[str]) -> int:
        """Add ``symbols``; returns how many the session is subscribed to now.

        Raises:
            BadRequest: the session would exceed the limit (field ``securities``).
            Unsupported: the data service is disabled.
        """
        if self._fanout is None:
            raise Unsupported("data service is disabled (数据服务未启用)")
        async with self._lock:
            new = [s for s in dict.fromkeys(normalise(symbols)) if s not in self._symbols]
            limit = self._limit
            if len(self._symbols) + len(new) > limit:
                raise BadRequest(
                    f"subscription limit exceeded: at most {limit} symbols per session "
                    f"(订阅数量超过上限 {limit})",
                    field="securities",
                )
            if self._is_closed():
                return len(self._symbols)
            await self._fanout.add(self._sink, new)
            self._symbols.update(dict.fromkeys(new))
            return len(self._symbols)

    async def remove(self, symbols: list[str] | None) -> tuple[int, int]:
        """Remove ``symbols`` (all when ``None``); returns (count now, removed)."""
        async with self._lock:
            if symbols is None:
                gone = list(self._symbols)
            else:
                gone = [s for s in dict.fromkeys(normalise(symbols)) if s in self._symbols]
            for symbol in gone:
                del self._symbols[symbol]
            if self._fanout is not None:
                self._fanout.remove(self._sink, gone)
            return len(self._symbols), len(gone)

    def clear(self) -> None:
        """Forget every symbol (the session closed; the fan-out dropped the sink already)."""
        self._symbols.clear()
