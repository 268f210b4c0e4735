"""Console tables (rich). Only the CLI renders; servers and engines log plain lines."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.table import Table

from bullet_trade.model.records import AccountSnapshot, Position

console = Console(highlight=False)
if not console.is_terminal:  # piped output (CI, make demo | tee): do not squeeze tables to 80
    console = Console(highlight=False, width=140)


def mask_account_id(account_id: str) -> str:
    """Show only the last four characters of an account number on the console."""
    if len(account_id) <= 4:
        return "*" * len(account_id)
    return "*" * (len(account_id) - 4) + account_id[-4:]


def account_table(
    snapshots: Iterable[AccountSnapshot], title: str = "账户概览 / Accounts"
) -> Table:
    table = Table(title=title)
    for column in ("account", "id", "type", "cash", "frozen", "market value", "total", "positions"):
        table.add_column(
            column, justify="right" if column not in ("account", "id", "type") else "left"
        )
    for snap in snapshots:
        table.add_row(
            snap.account_key,
            mask_account_id(snap.account_id),
            snap.account_type,
            f"{snap.available_cash:,.2f}",
            f"{snap.frozen_cash:,.2f}",
            f"{snap.market_value:,.2f}",
            f"{snap.total_value:,.2f}",
            str(len(snap.positions)),
        )
    return table


def positions_table(positions: Iterable[Position], title: str = "持仓 / Positions") -> Table:
    table = Table(title=title)
    for column in ("security", "name", "amount", "closeable", "avg cost", "price", "value"):
        table.add_column(column, justify="left" if column in ("security", "name") else "right")
    for pos in positions:
        table.add_row(
            pos.security.jq,
            pos.name or "",
            str(pos.amount),
            str(pos.closeable_amount),
            f"{pos.avg_cost:.3f}",
            f"{pos.last_price:.3f}",
            f"{pos.market_value:,.2f}",
        )
    return table


def orders_table(orders: Iterable[Any], title: str = "委托 / Orders") -> Table:
    """Strategy orders (``bullet_trade.jq.objects.Order``-like objects)."""
    table = Table(title=title)
    for column in ("order id", "time", "security", "side", "amount", "filled", "price", "status"):
        table.add_column(column)
    for order in orders:
        status = getattr(order.status, "value", str(order.status))
        table.add_row(
            order.order_id,
            order.add_time.strftime("%Y-%m-%d %H:%M:%S"),
            order.security,
            "BUY" if order.is_buy else "SELL",
            str(order.amount),
            str(order.filled),
            f"{order.price:.3f}",
            status + (f" ({order.reason})" if order.reason else ""),
        )
    return table
