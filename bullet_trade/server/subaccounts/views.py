"""What a request made under a virtual sub-account sees (docs/protocol-compat.md).

* Orders, trades and order status: only the orders placed under the sub-account (attributed
  in the journal), from the parent account's rows at the broker.
* Positions: built from the sub-account's own fills over all recorded days — amount = bought
  − sold, ``avg_cost`` = (bought value + the fees reported for those buys) / bought shares,
  ``last_price`` and ``name`` from the parent's position, ``closeable_amount`` = what a new
  SELL may still use (:mod:`.holdings`: T+1, minus open sells), capped by the parent's.
* Account: the parent's ``account_key``/``account_id``; ``available_cash`` = the parent's,
  capped by the quota still available; ``frozen_cash`` = what the sub-account's open BUY
  orders reserve; its own positions; plus ``sub_account_id``, ``quota_limit``,
  ``quota_used`` and ``quota_available`` (``null`` without a limit).
"""

from __future__ import annotations

from typing import Any

from bullet_trade.config import SubAccountConfig
from bullet_trade.model.codes import parse_security
from bullet_trade.model.records import AccountSnapshot, Position
from bullet_trade.model.rules import is_t0
from bullet_trade.server.subaccounts.book import SubAccountBook
from bullet_trade.server.subaccounts.holdings import holdings


def order_ids(book: SubAccountBook, sub: SubAccountConfig) -> set[str]:
    """Broker order ids placed under ``sub``."""
    return {r.order_id for r in book.rows(sub.name) if r.order_id is not None}


def positions(
    book: SubAccountBook, sub: SubAccountConfig, parent: list[Position], today: str
) -> list[Position]:
    """The sub-account's positions (see the module docstring), in first-bought order."""
    by_code = {p.security.jq: p for p in parent}
    out: list[Position] = []
    for code, held in holdings(book.rows(sub.name), today).items():
        if held.amount <= 0:
            continue
        security = parse_security(code)
        base = by_code.get(code)
        closeable = held.sellable(is_t0(security))
        if base is not None:
            closeable = min(closeable, base.closeable_amount)
        out.append(Position(
            security=security, amount=held.amount, closeable_amount=closeable,
            avg_cost=held.avg_cost,
            last_price=base.last_price if base is not None else held.avg_cost,
            name=base.name if base is not None else None,
        ))
    return out


def quota(book: SubAccountBook, sub: SubAccountConfig) -> dict[str, Any]:
    """``quota_limit``, ``quota_used`` and ``quota_available`` (``None`` without a limit)."""
    used = book.used(sub.name)
    available = None if sub.limit is None else round(max(0.0, sub.limit - used), 4)
    return {"quota_limit": sub.limit, "quota_used": used, "quota_available": available}


def snapshot(
    book: SubAccountBook, sub: SubAccountConfig, parent: AccountSnapshot, today: str
) -> AccountSnapshot:
    """The sub-account's view of its parent's account (see the module docstring)."""
    limits = quota(book, sub)
    cash = parent.available_cash
    if limits["quota_available"] is not None:
        cash = min(cash, limits["quota_available"])
    frozen = sum(
        max(0, r.amount - r.filled_amount) * r.price
        for r in book.rows(sub.name)
        if r.open and r.side == "BUY" and r.day == today
    )
    return AccountSnapshot(
        account_key=parent.account_key, account_id=parent.account_id,
        account_type=parent.account_type, available_cash=round(cash, 4),
        frozen_cash=round(frozen, 4),
        positions=tuple(positions(book, sub, list(parent.positions), today)),
    )


def account_wire(
    book: SubAccountBook, sub: SubAccountConfig, parent: AccountSnapshot, today: str
) -> dict[str, Any]:
    """``value`` of ``broker.account`` under a sub-account."""
    out = snapshot(book, sub, parent, today).to_wire()
    out["sub_account_id"] = sub.name
    out.update(quota(book, sub))
    return out
