"""The 5-level order book of the simulated exchange and market orders that walk it.

Book (in ticks of the price grid): bids at the last price, one tick lower, ...; asks from one
tick above the last price, each level within the day's limits (a sealed limit-up shows no asks,
a sealed limit-down no bids). Level volumes come from the recent 3-second tick volumes (see
:func:`depth_volumes`), so the book's depth matches the trading activity the ticks show; they
are multiples of 100 shares, at least 100.

Market orders (see :func:`walk`) take the opposite side level by level, at each level's price,
up to its volume, never beyond the order's protective price; what one market order takes is no
longer there for the next one in the same interval (``used``).
"""

from __future__ import annotations

from bullet_trade.adapters.sim.intraday import IntArray

BOOK_LEVELS = 5
Level = tuple[int, int]  # (price in ticks, volume in shares)


def depth_volumes(recent: IntArray) -> tuple[list[int], list[int]]:
    """(bid volumes, ask volumes) of the five levels from the latest tick volumes ``recent``
    (oldest first; at least one): level ``i`` of the bids shows the volume of the
    ``2i+1``-th latest tick, the asks the ``2i+2``-th (cycling when fewer ticks are known),
    rounded down to 100 shares, at least 100."""
    n = len(recent)
    picks = [int(recent[-1 - (k % n)]) for k in range(2 * BOOK_LEVELS)]
    lots = [max(100, v // 100 * 100) for v in picks]
    return lots[0::2], lots[1::2]


def levels(last: int, limits: tuple[int, int], volumes: list[int], side: int) -> list[Level]:
    """The book on one side: ``side`` -1 for bids (from ``last`` down), +1 for asks (from
    ``last + 1`` up), within ``limits = (low, high)``."""
    low, high = limits
    out = []
    for i, volume in enumerate(volumes):
        ticks = last - i if side < 0 else last + 1 + i
        if not low <= ticks <= high:
            break
        out.append((ticks, volume))
    return out


def walk(book: list[Level], quantity: int, limit: int, is_buy: bool, used: int = 0) -> list[Level]:
    """Fills (price, shares) of a market order for ``quantity`` shares against ``book`` (the
    opposite side, best first), never at a price worse than ``limit`` (ticks), after the first
    ``used`` shares of the book were taken by earlier orders. Quantities are whole lots of 100
    except a final odd remainder of ``quantity`` itself."""
    fills: list[Level] = []
    for price, volume in book:
        if (price > limit) if is_buy else (price < limit):
            break
        skip = min(used, volume)
        used -= skip
        room = volume - skip
        take = min(room, quantity)
        if take < quantity:
            take = take // 100 * 100
        if take > 0:
            fills.append((price, take))
            quantity -= take
        if quantity == 0:
            break
    return fills
