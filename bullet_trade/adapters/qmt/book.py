"""What the QMT broker knows about each account, and how pushes and reconciliation change it.

:class:`QmtBook` holds the per-account caches (orders, asset, positions, the trade ids already
reported) and turns xttrader pushes into broker events. It does no I/O and runs on the event
loop only; the broker feeds it rows (plain attribute dicts, see :func:`.convert.attrs`).

Exactly-once contract of the events it emits:

* ``TradeExecuted`` is emitted once per ``traded_id`` and account, whether the fill arrived as
  an ``on_stock_trade`` push or was found by :meth:`QmtBook.reconcile` after a reconnect.
* ``OrderUpdated`` is emitted when an order's snapshot changes. A reconciliation row equal to
  the cached snapshot emits nothing (the push already told), and a row that is *behind* the
  cache (fewer shares filled, or live while the cache is terminal) is ignored: a query answer
  may be overtaken by a push on its way to the loop.
* The first reconciliation of an account (at start-up) only fills the caches; later ones (after
  a reconnect) emit what listeners missed while the link was down.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from bullet_trade.adapters.qmt import convert
from bullet_trade.model.enums import OrderStatus
from bullet_trade.model.records import (
    AccountChanged,
    AccountConfig,
    AccountSnapshot,
    BrokerEvent,
    Order,
    OrderUpdated,
    TradeExecuted,
)

logger = logging.getLogger(__name__)

Row = dict[str, Any]


def _behind(new: Order, cached: Order) -> bool:
    """True when ``new`` is an older state of the order than ``cached``."""
    if new.filled < cached.filled:
        return True
    return cached.status.is_terminal and not new.status.is_terminal


class QmtBook:
    """Caches and event emission of :class:`~.broker.QmtBrokerAdapter` (module docstring).

    Args:
        emit: delivers one event to the broker's listeners.
    """

    def __init__(self, emit: Callable[[BrokerEvent], None]) -> None:
        self._emit = emit
        self.orders: dict[tuple[str, str], Order] = {}
        self.keys: dict[str, str] = {}
        self._ambiguous: set[str] = set()
        self._order_keys: dict[tuple[str, str], str] = {}
        self._assets: dict[str, Row] = {}
        self._positions: dict[str, dict[str, Row]] = {}
        self._trade_ids: dict[str, set[str]] = {}
        self._synced: set[str] = set()

    # ------------------------------------------------------------------ reads

    def order(self, account_key: str, order_id: str) -> Order | None:
        return self.orders.get((account_key, order_id))

    def snapshot(self, account: AccountConfig) -> AccountSnapshot:
        positions = list(self._positions.get(account.key, {}).values())
        return convert.snapshot_from_xt(account, self._assets.get(account.key, {}), positions)

    # ------------------------------------------------------------------ writes

    def note_key(self, remark: str, idem_key: str) -> None:
        """Remember that orders sent with ``remark`` carry ``idem_key`` (pushes may precede
        the order id). A remark used for two different keys maps to neither, so an order is
        never given another intent's key. In memory only: after a restart keys are unknown
        and matching relies on the remark (``journal.codec.order_matches``)."""
        if not remark or remark in self._ambiguous:
            return
        known = self.keys.get(remark)
        if known is not None and known != idem_key:
            del self.keys[remark]
            self._ambiguous.add(remark)
            return
        self.keys[remark] = idem_key

    def bind_key(self, account_key: str, order_id: str, idem_key: str) -> None:
        """Remember the idempotency key of an acknowledged order by its id."""
        self._order_keys[(account_key, order_id)] = idem_key

    def remember(self, account: AccountConfig, native: Any) -> Order:
        """Cache (and return) the order of a native object or row; no event."""
        order = self._convert(account, native)
        self.orders[(account.key, order.order_id)] = order
        return order

    def _convert(self, account: AccountConfig, native: Any) -> Order:
        row = convert.attrs(native)
        key = self._order_keys.get((account.key, str(row.get("order_id"))))
        if key is None:
            key = self.keys.get(str(row.get("order_remark") or ""))
        return convert.order_from_xt(row, account.key, key)

    def set_account(self, account: AccountConfig, asset: Any, positions: Iterable[Any]) -> None:
        """Replace the cached asset and positions of ``account`` (a query answer)."""
        self._assets[account.key] = convert.attrs(asset)
        rows = (convert.attrs(r) for r in positions)
        self._positions[account.key] = {str(p.get("stock_code")): p for p in rows}

    # ------------------------------------------------------------------ pushes

    def on_order(self, account: AccountConfig, row: Row) -> None:
        self._emit(OrderUpdated(order=self.remember(account, row)))

    def on_trade(self, account: AccountConfig, row: Row) -> None:
        self._report_trade(account, row, emit=True)

    def on_asset(self, account: AccountConfig, row: Row) -> None:
        self._assets[account.key] = row
        self._emit(AccountChanged(account=self.snapshot(account)))

    def on_position(self, account: AccountConfig, row: Row) -> None:
        self._positions.setdefault(account.key, {})[str(row.get("stock_code"))] = row
        self._emit(AccountChanged(account=self.snapshot(account)))

    def on_order_error(self, account: AccountConfig, row: Row) -> None:
        """The order is rejected (57) unless already terminal or unknown."""
        order = self.orders.get((account.key, str(row.get("order_id"))))
        if order is None or order.status.is_terminal:
            return
        rejected = replace(order, status=OrderStatus.REJECTED, raw_status=57,
                           status_msg=str(row.get("error_msg") or ""), reason="counter_rejected")
        self.orders[(account.key, order.order_id)] = rejected
        self._emit(OrderUpdated(order=rejected))

    def _report_trade(self, account: AccountConfig, native: Any, *, emit: bool) -> None:
        trade = convert.trade_from_xt(convert.attrs(native), account.key)
        seen = self._trade_ids.setdefault(account.key, set())
        if trade.trade_id and trade.trade_id in seen:
            return
        seen.add(trade.trade_id)
        if emit:
            self._emit(TradeExecuted(trade=trade))

    # ------------------------------------------------------------------ reconciliation

    def reconcile(
        self,
        account: AccountConfig,
        orders: Iterable[Any],
        trades: Iterable[Any],
        asset: Any,
        positions: Iterable[Any],
    ) -> None:
        """Merge a full query of ``account`` taken right after a (re)connect.

        Emits the trades and order changes listeners have not seen, then one
        ``AccountChanged`` (except on the account's first reconciliation, see module doc).
        """
        replay = account.key in self._synced
        for trade in trades:
            self._report_trade(account, trade, emit=replay)
        changed = 0
        for native in orders:
            order = self._convert(account, native)
            cached = self.orders.get((account.key, order.order_id))
            if cached == order or (cached is not None and _behind(order, cached)):
                continue
            self.orders[(account.key, order.order_id)] = order
            changed += 1
            if replay:
                self._emit(OrderUpdated(order=order))
        self.set_account(account, asset, positions)
        if replay:
            logger.info("reconciled %s: %d order(s) changed while disconnected", account.key,
                        changed)
            self._emit(AccountChanged(account=self.snapshot(account)))
        self._synced.add(account.key)

    # ------------------------------------------------------------------ dispatch

    def handle(self, name: str, account: AccountConfig, row: Row) -> None:
        """Apply one account push (``on_stock_order`` …); unknown names are ignored."""
        handler = _HANDLERS.get(name)
        if handler is not None:
            handler(self, account, row)


_HANDLERS: dict[str, Callable[[QmtBook, AccountConfig, Row], None]] = {
    "on_stock_order": QmtBook.on_order,
    "on_stock_trade": QmtBook.on_trade,
    "on_stock_asset": QmtBook.on_asset,
    "on_stock_position": QmtBook.on_position,
    "on_order_error": QmtBook.on_order_error,
}
