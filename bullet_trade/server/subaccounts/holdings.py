"""What a sub-account holds, computed from its own recorded orders (never the parent's).

Contract (all quantities in shares, values in CNY):

* ``amount`` = filled BUY shares − filled SELL shares, over every recorded day.
* ``sellable`` (its closeable quantity) = shares bought before today (plus today's for T+0
  products) − shares sold − the unfilled part of today's open SELL orders (day orders).
  Open SELLs thus *reserve* shares: two concurrent sells cannot both use the same shares,
  and a cancel or a rejection gives them back (the row is closed or dropped).
* ``cost`` = filled BUY value + the fees (commission + tax) the broker reported for those
  fills; ``avg_cost`` = cost / bought shares.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bullet_trade.model.codes import parse_security
from bullet_trade.model.rules import is_t0
from bullet_trade.server.journal.suborders import SubOrder


@dataclass(slots=True)
class Holding:
    """Aggregated fills of one security of one sub-account."""

    bought: int = 0
    bought_value: float = 0.0
    buy_fees: float = 0.0
    bought_today: int = 0
    sold: int = 0
    selling: int = 0

    @property
    def amount(self) -> int:
        return self.bought - self.sold

    @property
    def avg_cost(self) -> float:
        if not self.bought:
            return 0.0
        return round((self.bought_value + self.buy_fees) / self.bought, 4)

    def sellable(self, t0: bool) -> int:
        """Shares a new SELL may still use (see the module docstring)."""
        settled = self.bought if t0 else self.bought - self.bought_today
        return max(0, settled - self.sold - self.selling)


def holdings(rows: Iterable[SubOrder], today: str) -> dict[str, Holding]:
    """Holdings by JoinQuant code, in first-traded order."""
    out: dict[str, Holding] = {}
    for row in rows:
        held = out.setdefault(row.security, Holding())
        if row.side == "BUY":
            held.bought += row.filled_amount
            held.bought_value += row.filled_value
            held.buy_fees += row.fees
            if row.day == today:
                held.bought_today += row.filled_amount
        else:
            held.sold += row.filled_amount
            if row.open and row.day == today:  # day orders: an older one cannot be open
                held.selling += max(0, row.amount - row.filled_amount)
    return out


def sellable(rows: Iterable[SubOrder], security: str, today: str) -> int:
    """The closeable quantity of ``security`` (JoinQuant code) for a new SELL."""
    held = holdings((r for r in rows if r.security == security), today).get(security)
    return 0 if held is None else held.sellable(is_t0(parse_security(security)))
