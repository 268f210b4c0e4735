"""Event-driven waits for an order to reach a terminal status (no polling).

One :class:`OrderWaiter` per server registers a single listener on the broker (lazily, on first
use) and resolves futures keyed by ``(account_key, order_id)`` when an ``OrderUpdated`` event
carries a terminal status. A wait registers its future *before* re-reading the order from the
broker, so an event that lands between submission and registration is never missed.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bullet_trade.adapters.contracts import Broker
from bullet_trade.model.records import BrokerEvent, Order, OrderUpdated

_Key = tuple[str, str]

log = logging.getLogger("bullet_trade.server.orders")


@dataclass(frozen=True, slots=True)
class WaitOutcome:
    """Result of a wait.

    Attributes:
        order: the latest known snapshot (``None`` only if the broker never knew the id).
        timed_out: the deadline passed without a terminal status.
    """

    order: Order | None
    timed_out: bool


class OrderWaiter:
    """Registry of pending waits, fed by broker events."""

    def __init__(self, broker: Broker) -> None:
        self._broker = broker
        self._pending: dict[_Key, set[asyncio.Future[Order]]] = {}
        self._listening = False

    def _ensure_listening(self) -> None:
        if not self._listening:
            self._broker.add_listener(self._on_event)
            self._listening = True

    def _on_event(self, event: BrokerEvent) -> None:
        """Broker listener (event loop thread): finish the waits of a terminal order."""
        if not isinstance(event, OrderUpdated) or not event.order.status.is_terminal:
            return
        order = event.order
        for future in self._pending.pop((order.account_key, order.order_id), set()):
            if not future.done():
                future.set_result(order)

    def pending(self) -> int:
        """Number of waits in progress (diagnostics)."""
        return sum(len(futures) for futures in self._pending.values())

    async def wait_terminal(
        self, account_key: str, order_id: str, timeout: float, last: Order | None = None
    ) -> WaitOutcome:
        """Wait up to ``timeout`` seconds for a terminal status of one order.

        Args:
            last: the snapshot the caller already has (returned if nothing newer is seen).

        Returns:
            The terminal snapshot with ``timed_out=False``; or, at the deadline, the latest
            snapshot with ``timed_out=True``. With ``timeout <= 0`` it returns the current
            snapshot at once, ``timed_out=False`` (nothing was waited for).
        """
        if last is not None and last.status.is_terminal:
            return WaitOutcome(last, False)
        self._ensure_listening()
        key = (account_key, order_id)
        future: asyncio.Future[Order] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(key, set()).add(future)
        try:
            current, ok = await self._read(account_key, order_id, last)
            if not ok:
                return WaitOutcome(current, True)
            if timeout <= 0 or (current is not None and current.status.is_terminal):
                return WaitOutcome(current, False)
            try:
                done = await asyncio.wait_for(asyncio.shield(future), timeout)
            except asyncio.TimeoutError:
                latest, ok = await self._read(account_key, order_id, current)
                if not ok:
                    return WaitOutcome(latest, True)
                terminal = latest is not None and latest.status.is_terminal
                return WaitOutcome(latest, not terminal)
            return WaitOutcome(done, False)
        finally:
            self._discard(key, future)

    async def _read(
        self, account_key: str, order_id: str, fallback: Order | None
    ) -> tuple[Order | None, bool]:
        """``(broker.order() or fallback, True)``; ``(fallback, False)`` on any error.

        The order was already placed: a failure to read it back must never turn the
        placement into an error reply, so it is logged and the caller reports the snapshot
        it has with ``timed_out=True``.
        """
        try:
            return await self._broker.order(account_key, order_id) or fallback, True
        except Exception:
            log.warning("cannot read order %s/%s while waiting for its final status",
                        account_key, order_id, exc_info=True)
            return fallback, False

    def _discard(self, key: _Key, future: asyncio.Future[Order]) -> None:
        futures = self._pending.get(key)
        if futures is not None:
            futures.discard(future)
            if not futures:
                del self._pending[key]
        if not future.done():
            future.cancel()
