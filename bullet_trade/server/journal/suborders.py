"""The ``sub_orders`` table: every order placed under a virtual sub-account.

One row per ``(account_key, idem_key)`` — the same scope as the order's intent — holding the
sub-account, the trading day, side, security, the price the quota reserved at, the amount,
the broker order id once known, and the fill state (``filled_amount``, ``filled_value``,
``open``). Rows are kept across days: positions of a sub-account are built from its fills.

The ``sub_fills`` table records each fill (``trade_id``) of such an order with the fees the
broker reported for it (commission + tax), once: a fill seen again (event replay, resync
after a restart) is not counted twice. ``SubOrder.fees`` is their sum, rebuilt at load.
"""

from __future__ import annotations

import sqlite3
from dataclasses import astuple, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bullet_trade.server.journal.db import Journal

SUB_ORDERS_SCHEMA = """
CREATE TABLE IF NOT EXISTS sub_orders (
    account_key TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    sub_account TEXT NOT NULL,
    day TEXT NOT NULL,
    side TEXT NOT NULL,
    security TEXT NOT NULL,
    price REAL NOT NULL,
    amount INTEGER NOT NULL,
    order_id TEXT,
    filled_amount INTEGER NOT NULL,
    filled_value REAL NOT NULL,
    open INTEGER NOT NULL,
    PRIMARY KEY (account_key, idem_key)
);
CREATE TABLE IF NOT EXISTS sub_fills (
    account_key TEXT NOT NULL,
    trade_id TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    fee REAL NOT NULL,
    PRIMARY KEY (account_key, trade_id)
);
"""

_COLUMNS = (
    "account_key, idem_key, sub_account, day, side, security, price, amount, order_id, "
    "filled_amount, filled_value, open"
)


@dataclass(slots=True)
class SubOrder:
    """One order of a sub-account (mutable: fills update it).

    Attributes:
        price: the per-share price its quota reservation uses (limit / protect / last price).
        open: not yet terminal; an open BUY holds ``(amount - filled_amount) * price``.
        fees: commission + tax the broker reported for its fills (from ``sub_fills``).
    """

    account_key: str
    idem_key: str
    sub_account: str
    day: str
    side: str
    security: str
    price: float
    amount: int
    order_id: str | None = None
    filled_amount: int = 0
    filled_value: float = 0.0
    open: bool = True
    fees: float = 0.0

    def quota_value(self) -> float:
        """What this order counts against the daily BUY quota (0 for a sell): the cash it
        used (fills and their fees) plus what its unfilled part reserves."""
        if self.side != "BUY":
            return 0.0
        remaining = max(0, self.amount - self.filled_amount) if self.open else 0
        return self.filled_value + self.fees + remaining * self.price


async def save_sub_order(journal: Journal, row: SubOrder) -> None:
    """Insert or replace ``row`` (durable when this returns)."""
    values = (*astuple(row)[:11], int(row.open))

    def work(db: sqlite3.Connection) -> None:
        db.execute(f"INSERT OR REPLACE INTO sub_orders ({_COLUMNS}) VALUES "
                   "(?,?,?,?,?,?,?,?,?,?,?,?)", values)

    await journal.transaction(work)


async def delete_sub_order(journal: Journal, account_key: str, idem_key: str) -> None:
    """Remove the row of an order that never reached the broker."""

    def work(db: sqlite3.Connection) -> None:
        db.execute("DELETE FROM sub_orders WHERE account_key=? AND idem_key=?",
                   (account_key, idem_key))

    await journal.transaction(work)


async def load_sub_orders(journal: Journal) -> list[SubOrder]:
    """Every row, in insertion order."""

    def work(db: sqlite3.Connection) -> list[SubOrder]:
        rows = db.execute(f"SELECT {_COLUMNS} FROM sub_orders ORDER BY rowid").fetchall()
        return [_row(values) for values in rows]

    return await journal.transaction(work)


def _row(values: tuple[Any, ...]) -> SubOrder:
    (account_key, idem_key, sub, day, side, security, price, amount, order_id, filled_amount,
     filled_value, is_open) = values
    return SubOrder(
        account_key=str(account_key), idem_key=str(idem_key), sub_account=str(sub),
        day=str(day), side=str(side), security=str(security), price=float(price),
        amount=int(amount), order_id=None if order_id is None else str(order_id),
        filled_amount=int(filled_amount), filled_value=float(filled_value),
        open=bool(is_open),
    )


@dataclass(frozen=True, slots=True)
class SubFill:
    """One fill of a sub-account order and the fees reported for it."""

    account_key: str
    trade_id: str
    idem_key: str
    fee: float


async def save_sub_fill(journal: Journal, fill: SubFill) -> None:
    """Record ``fill`` (durable when this returns; a known ``trade_id`` is kept as is)."""

    def work(db: sqlite3.Connection) -> None:
        db.execute("INSERT OR IGNORE INTO sub_fills (account_key, trade_id, idem_key, fee) "
                   "VALUES (?,?,?,?)", astuple(fill))

    await journal.transaction(work)


async def load_sub_fills(journal: Journal) -> list[SubFill]:
    """Every recorded fill."""

    def work(db: sqlite3.Connection) -> list[SubFill]:
        rows = db.execute("SELECT account_key, trade_id, idem_key, fee FROM sub_fills")
        return [SubFill(str(a), str(t), str(k), float(f)) for a, t, k, f in rows.fetchall()]

    return await journal.transaction(work)
