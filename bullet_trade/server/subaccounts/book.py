"""``SubAccountBook``: attribution of orders to virtual sub-accounts and their daily quota.

Contract:

* :meth:`SubAccountBook.reserve` is the quota check. It runs without an ``await`` between
  reading the usage and adding the reservation, so concurrent orders on the event loop can
  never jointly exceed a limit. The reservation is then written to the journal *before* the
  broker is called; a journal that cannot write refuses the order (``BACKEND_UNAVAILABLE``).
* Usage of a sub-account = Σ over today's BUY orders of ``filled_value + fees + unfilled ×
  price`` while open, ``filled_value + fees`` once terminal (cancel / reject releases the
  unfilled part; fills true the reservation up to what was really paid, fees included as the
  broker reports them per fill). Sells never use quota.
* A SELL may use only the sub-account's own closeable shares (:mod:`.holdings`); the check and
  the reservation of those shares happen in the same no-``await`` step as the quota check,
  so concurrent sells cannot oversell. Refused: ``ORDER_REJECTED`` reason
  ``sub_account_position``.
* Reservations are keyed by ``(account_key, idempotency_key)``: a retry never reserves twice.
* Order and trade events from the broker (:meth:`on_event`) keep fills and fees current;
  :meth:`resync` asks the broker again after a restart. Rows survive restarts in the
  journal's ``sub_orders`` and ``sub_fills`` tables.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Coroutine
from datetime import date
from typing import Any

from bullet_trade.adapters.contracts import Broker
from bullet_trade.config import SubAccountConfig
from bullet_trade.errors import BackendUnavailable, OrderRejected
from bullet_trade.model.enums import Side
from bullet_trade.model.records import (
    BrokerEvent,
    Order,
    OrderUpdated,
    PlaceOrder,
    Trade,
    TradeExecuted,
)
from bullet_trade.server.journal.codec import TAG_LENGTH, order_from_json, remark_tag
from bullet_trade.server.journal.db import REJECTED, SUBMITTED, Journal
from bullet_trade.server.journal.suborders import (
    SubFill,
    SubOrder,
    delete_sub_order,
    load_sub_fills,
    load_sub_orders,
    save_sub_fill,
    save_sub_order,
)
from bullet_trade.server.subaccounts.holdings import sellable

log = logging.getLogger("bullet_trade.server.orders")

#: ``reason`` of an order refused because it would exceed its sub-account's quota.
QUOTA_EXCEEDED = "sub_account_quota"
#: ``reason`` of a SELL refused because the sub-account does not hold the shares.
POSITION_EXCEEDED = "sub_account_position"
#: Fills of not-yet-attributed orders kept until their order is known (bounded).
_MAX_ORPHAN_FILLS = 2048
_Key = tuple[str, str]


class SubAccountBook:
    """Orders of every sub-account, their quota usage, and persistence.

    Args:
        subs: configured sub-accounts by name (parents resolved).
        today: the current trading day (the server clock).
        journal: where rows survive restarts; ``None`` keeps them in memory (unit tests).
    """

    def __init__(
        self,
        subs: dict[str, SubAccountConfig],
        today: Callable[[], date],
        journal: Journal | None = None,
    ) -> None:
        self.subs = subs
        self._today = today
        self._journal = journal
        self._rows: dict[_Key, SubOrder] = {}
        self._by_order: dict[tuple[str, str], SubOrder] = {}
        self._by_tag: dict[str, SubOrder] = {}
        self._writes: set[asyncio.Task[None]] = set()
        self._fills: set[tuple[str, str]] = set()  # (account_key, trade_id) counted
        self._orphans: dict[tuple[str, str], Trade] = {}  # (account_key, trade_id)

    async def load(self) -> None:
        """Read the journal's rows and fills (call once, after the journal is open)."""
        if self._journal is None:
            return
        for row in await load_sub_orders(self._journal):
            self._index(row)
        for fill in await load_sub_fills(self._journal):
            owner = self._rows.get((fill.account_key, fill.idem_key))
            self._fills.add((fill.account_key, fill.trade_id))
            if owner is not None:
                owner.fees = round(owner.fees + fill.fee, 4)

    def used(self, sub: str) -> float:
        """Today's quota usage of ``sub`` (CNY)."""
        day = self._today().isoformat()
        return round(
            sum(r.quota_value() for r in self._rows.values() if r.sub_account == sub
                and r.day == day), 4
        )

    def rows(self, sub: str) -> list[SubOrder]:
        """Every recorded order of ``sub`` (all days), oldest first."""
        return [r for r in self._rows.values() if r.sub_account == sub]

    def owner(self, account_key: str, order_id: str) -> str | None:
        """The sub-account an order was placed under, or ``None``."""
        row = self._by_order.get((account_key, order_id))
        return row.sub_account if row is not None else None

    def attribute(self, event: BrokerEvent) -> str | None:
        """The sub-account a broker event belongs to (order or trade of one of its orders),
        else ``None`` (the parent's own orders, account snapshots, backend state)."""
        if isinstance(event, TradeExecuted):
            return self.owner(event.trade.account_key, event.trade.order_id)
        if not isinstance(event, OrderUpdated):
            return None
        order = event.order
        found = self.owner(order.account_key, order.order_id)
        if found is None:
            row = self._by_tag.get(order.remark[:TAG_LENGTH])
            if row is not None and row.account_key == order.account_key:
                found = row.sub_account
        return found

    async def reserve(
        self, sub: SubAccountConfig, key: str, command: PlaceOrder, price: float
    ) -> SubOrder:
        """Record the order under ``sub`` and reserve ``amount × price`` of its quota.

        Raises:
            OrderRejected: reason ``sub_account_quota``; nothing is recorded.
            BackendUnavailable: the journal cannot record it; nothing is recorded.
        """
        existing = self._rows.get((sub.parent, key))
        if existing is not None:
            return existing
        row = SubOrder(
            account_key=sub.parent, idem_key=key, sub_account=sub.name,
            day=self._today().isoformat(), side=command.side.value,
            security=command.security.jq, price=price, amount=command.amount,
        )
        self._check(sub, row)
        self._index(row)  # no await since the check: concurrent orders see this reservation
        try:
            await self._save(row)
        except Exception as exc:  # I/O boundary: refuse the order rather than lose the quota
            self._unindex(row)
            log.exception("journal: cannot record sub-account order %s/%s", sub.parent, key)
            raise BackendUnavailable(
                "the order journal is unavailable; nothing was submitted (订单日志不可用)"
            ) from exc
        return row

    def _check(self, sub: SubAccountConfig, row: SubOrder) -> None:
        """Quota of a BUY, own closeable shares of a SELL (synchronous: part of the atomic
        check-and-reserve step)."""
        if row.side == Side.SELL.value:
            available = sellable(self.rows(sub.name), row.security, row.day)
            if row.amount > available:
                raise _position_error(sub, row, available)
        elif sub.limit is not None:
            used = self.used(sub.name)
            if used + row.quota_value() > sub.limit + 1e-6:
                raise _quota_error(sub, used, row.quota_value())

    async def bind(self, account_key: str, key: str, order: Order) -> None:
        """Attach the broker's order to its reservation and apply its fill state. Idempotent:
        once bound (here or by an event), later snapshots come from events only, so a
        replayed (older) snapshot never rolls fills back."""
        row = self._rows.get((account_key, key))
        if row is None or row.order_id is not None:
            return
        row.order_id = order.order_id
        self._by_order[(account_key, order.order_id)] = row
        _apply(row, order)
        await self._save_logged(row)
        self._adopt_orphans(account_key, order.order_id)

    def today(self) -> date:
        """The current trading day (the server clock)."""
        return self._today()

    async def settle(self, account_key: str, key: str, order: Order | None) -> None:
        """Settle the reservation of a reconciled intent: bind the broker's ``order``, or
        release it when the order never reached the broker (``None``)."""
        if order is None:
            await self.drop(account_key, key)
        else:
            await self.bind(account_key, key, order)

    async def drop(self, account_key: str, key: str) -> None:
        """Forget an order that never reached the broker (its reservation is released)."""
        row = self._rows.get((account_key, key))
        if row is None or row.order_id is not None:
            return
        self._unindex(row)
        if self._journal is not None:
            try:
                await delete_sub_order(self._journal, account_key, key)
            except Exception:  # I/O boundary: a stale reservation only over-counts
                log.exception("journal: cannot delete sub-account order %s/%s", account_key, key)

    async def resync(self, broker: Broker) -> None:
        """After a restart: bind reservations whose intent was settled meanwhile, drop those
        that never reached the broker, and refresh the fills of open orders from ``broker``.
        Rows the broker cannot answer for stay as they are (reservations only over-count)."""
        for row in list(self._rows.values()):
            try:
                if row.order_id is None:
                    await self._settle_unbound(row)
                elif row.open:
                    await self._refresh(broker, row)
            except Exception:  # I/O boundary: try again at the next start
                log.exception("sub-account resync of %s/%s failed", row.account_key,
                              row.idem_key)
        await self._resync_fills(broker)

    async def _resync_fills(self, broker: Broker) -> None:
        """Count fills (and their fees) of today's orders that happened while we were down."""
        today = self._today().isoformat()
        for account in sorted({r.account_key for r in self._rows.values() if r.day == today}):
            try:
                trades = await broker.trades(account)
            except Exception:  # I/O boundary: fees of those fills are counted at next start
                log.exception("sub-account resync: cannot list trades of %s", account)
                continue
            for trade in trades:
                self._on_trade(trade)

    async def _settle_unbound(self, row: SubOrder) -> None:
        if self._journal is None:
            return
        intent = await self._journal.intent(row.account_key, row.idem_key)
        if intent is None or intent.state == REJECTED:
            await self.drop(row.account_key, row.idem_key)
        elif intent.state == SUBMITTED and intent.result is not None:
            await self.bind(row.account_key, row.idem_key, order_from_json(intent.result))

    async def _refresh(self, broker: Broker, row: SubOrder) -> None:
        assert row.order_id is not None
        order = await broker.order(row.account_key, row.order_id)
        if order is not None:
            _apply(row, order)
        elif row.day < self._today().isoformat():
            row.open = False  # a past day's order the broker no longer lists has expired
        else:
            return
        await self._save_logged(row)

    def on_event(self, event: BrokerEvent) -> None:
        """Broker listener: true up the fills of an attributed order (persisted in the
        background, in order)."""
        if isinstance(event, TradeExecuted):
            self._on_trade(event.trade)
            return
        if not isinstance(event, OrderUpdated):
            return
        order = event.order
        row = self._by_order.get((order.account_key, order.order_id))
        if row is None:  # an event that beat the placement's answer: match the remark tag
            row = self._by_tag.get(order.remark[:TAG_LENGTH])
            if row is None or row.account_key != order.account_key or row.order_id is not None:
                return
            row.order_id = order.order_id
            self._by_order[(order.account_key, order.order_id)] = row
            self._adopt_orphans(order.account_key, order.order_id)
        _apply(row, order)
        self._background(self._save_logged(dataclasses.replace(row)))

    def _on_trade(self, trade: Trade) -> None:
        """Count one fill's fees on its order, once per ``trade_id``; a fill of an order not
        attributed yet waits (bounded) until its order is known."""
        done = (trade.account_key, trade.trade_id)
        if done in self._fills:
            return
        row = self._by_order.get((trade.account_key, trade.order_id))
        if row is None:
            if len(self._orphans) >= _MAX_ORPHAN_FILLS:
                self._orphans.pop(next(iter(self._orphans)))
            self._orphans[done] = trade
            return
        self._fills.add(done)
        fee = round(trade.commission + trade.tax, 4)
        row.fees = round(row.fees + fee, 4)
        self._background(self._save_fill(SubFill(row.account_key, trade.trade_id,
                                                 row.idem_key, fee)))

    def _adopt_orphans(self, account_key: str, order_id: str) -> None:
        waiting = [t for t in self._orphans.values()
                   if t.account_key == account_key and t.order_id == order_id]
        for trade in waiting:
            del self._orphans[(trade.account_key, trade.trade_id)]
            self._on_trade(trade)

    def _background(self, write: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(write)
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _save_fill(self, fill: SubFill) -> None:
        if self._journal is None:
            return
        try:
            await save_sub_fill(self._journal, fill)
        except Exception:  # I/O boundary: a restart recounts today's fills from the broker
            log.exception("journal: cannot record sub-account fill %s", fill.trade_id)

    async def close(self) -> None:
        """Wait for the background writes."""
        if self._writes:
            await asyncio.gather(*list(self._writes), return_exceptions=True)

    # ------------------------------------------------------------------ internals

    def _index(self, row: SubOrder) -> None:
        self._rows[(row.account_key, row.idem_key)] = row
        self._by_tag[remark_tag(row.account_key, row.idem_key)] = row
        if row.order_id is not None:
            self._by_order[(row.account_key, row.order_id)] = row

    def _unindex(self, row: SubOrder) -> None:
        self._rows.pop((row.account_key, row.idem_key), None)
        self._by_tag.pop(remark_tag(row.account_key, row.idem_key), None)
        if row.order_id is not None:
            self._by_order.pop((row.account_key, row.order_id), None)

    async def _save(self, row: SubOrder) -> None:
        if self._journal is not None:
            await save_sub_order(self._journal, row)

    async def _save_logged(self, row: SubOrder) -> None:
        try:
            await self._save(row)
        except Exception:  # I/O boundary: memory stays right; a restart resyncs from the broker
            log.exception("journal: cannot update sub-account order %s", row.idem_key)


def _apply(row: SubOrder, order: Order) -> None:
    """Copy the fill state of ``order``; never reopens a closed row or lowers its fills."""
    if order.filled < row.filled_amount or (not row.open and not order.status.is_terminal):
        return
    row.filled_amount = order.filled
    row.filled_value = round(order.filled * order.avg_fill_price, 4)
    row.open = not order.status.is_terminal


def _position_error(sub: SubAccountConfig, row: SubOrder, available: int) -> OrderRejected:
    return OrderRejected(
        f"sub-account {sub.name!r}: cannot sell {row.amount} {row.security}, it can close "
        f"{available} (子账户可卖数量不足)",
        reason=POSITION_EXCEEDED,
        field="amount",
        details={"sub_account_id": sub.name, "security": row.security,
                 "closeable_amount": available},
    )


def _quota_error(sub: SubAccountConfig, used: float, value: float) -> OrderRejected:
    return OrderRejected(
        f"sub-account {sub.name!r}: this order ({value:,.2f}) would exceed the daily quota "
        f"{sub.limit:,.2f} (used {used:,.2f}) (子账户超过额度限制)",
        reason=QUOTA_EXCEEDED,
        field="sub_account_id",
        details={"sub_account_id": sub.name, "quota_limit": sub.limit, "quota_used": used},
    )
