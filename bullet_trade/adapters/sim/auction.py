"""Call auctions of the simulated exchange (``real`` / ``replay`` clock modes only).

Opening auction: limit orders accepted from 09:15 match once at 09:25, all at one price, the
day's open (the first minute bar's open). Closing auction: orders resting at 15:00 match once
at the day's close. An order takes part when it was placed on that trading day before the match
time (or is a pre-order of that day) and crosses the auction price (buy ≥ price, sell ≤ price).
Volume per security is capped like continuous matching: ``fill_ratio`` of the first / last
minute bar's volume, shared in time priority.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from bullet_trade.adapters.sim.session import BARS_PER_DAY, MarketMoment
from bullet_trade.adapters.sim.state import AccountState, OrderState
from bullet_trade.model.enums import Side


class Auction(str, enum.Enum):
    OPEN = "open"
    CLOSE = "close"

    @property
    def bar(self) -> int:
        """The minute bar whose price (open / close) and volume the auction uses."""
        return 0 if self is Auction.OPEN else BARS_PER_DAY - 1

    def match_time(self, day: date) -> datetime:
        return datetime.combine(day, time(9, 25) if self is Auction.OPEN else time(15, 0))


def due(moment: MarketMoment, done: set[tuple[date, Auction]]) -> list[Auction]:
    """The auctions of ``moment.day`` whose match time has passed and that have not run."""
    out = []
    if moment.open_auction_done and (moment.day, Auction.OPEN) not in done:
        out.append(Auction.OPEN)
    if moment.close_auction_done and (moment.day, Auction.CLOSE) not in done:
        out.append(Auction.CLOSE)
    return out


def participants(
    accounts: list[AccountState], day: date, auction: Auction
) -> list[tuple[OrderState, AccountState]]:
    """Open orders of ``day`` placed before the auction's match time, in time priority."""
    deadline = auction.match_time(day)
    pairs = [
        (order, account)
        for account in accounts
        for order in account.orders.values()
        if order.status.is_open and order.trading_day == day and order.created_at < deadline
    ]
    pairs.sort(key=lambda pair: pair[0].seq)
    return pairs


def crosses(order: OrderState, price: float) -> bool:
    """Whether ``order`` is willing to trade at the auction ``price``."""
    return order.price >= price - 1e-9 if order.side is Side.BUY else order.price <= price + 1e-9
