"""How much the simulated market can still give orders in the current interval.

Two budgets, both reset when the interval (``slot``: day index and interval number) changes:

* the volume cap of limit orders and auctions: ``ratio`` of the interval's traded volume,
  rounded down to 100 shares, at least 100, shared by all orders of a security in time
  priority;
* the book taken by market orders, per security and side: what one market order took from
  the 5-level book is gone for the next one (see :func:`.book.walk`).
"""

from __future__ import annotations

from bullet_trade.model.codes import Security
from bullet_trade.model.enums import Side

Slot = tuple[int, int]


class Capacity:
    """The per-interval budgets of one simulated market (see module docstring)."""

    def __init__(self, fill_ratio: float) -> None:
        self._fill_ratio = fill_ratio
        self._volume: dict[Security, tuple[Slot, int]] = {}
        self._book: dict[tuple[Security, Side], tuple[Slot, int]] = {}

    def take_volume(self, security: Security, remaining: int, volume: int, slot: Slot,
                    ratio: float | None = None) -> int:
        """Quantity an order with ``remaining`` shares may fill now under the volume cap of
        ``slot``: ``ratio`` (default ``fill_ratio``) of ``volume``, rounded down to 100 shares,
        at least 100; a partial quantity is whole lots. Reserves it."""
        ratio = self._fill_ratio if ratio is None else ratio
        cap = max(100, int(volume * ratio) // 100 * 100)
        seen, used = self._volume.get(security, (slot, 0))
        room = cap - (used if seen == slot else 0)
        quantity = remaining if remaining <= room else room // 100 * 100
        if quantity > 0:
            self._volume[security] = (slot, cap - room + quantity)
        return max(quantity, 0)

    def book_taken(self, security: Security, side: Side, slot: Slot) -> int:
        """Shares of the book's opposite side already taken by ``side`` orders in ``slot``."""
        seen, used = self._book.get((security, side), (slot, 0))
        return used if seen == slot else 0

    def take_book(self, security: Security, side: Side, slot: Slot, shares: int) -> None:
        """Record that a market order of ``side`` took ``shares`` more of the book."""
        self._book[(security, side)] = (slot, self.book_taken(security, side, slot) + shares)
