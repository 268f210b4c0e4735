"""``AsyncRemoteBroker``: the :class:`~bullet_trade.adapters.contracts.Broker` contract over
the network, plus the v1-shaped dict methods the sync facade forwards to.

Reads are retried once after a reconnect (:meth:`AsyncConnection.read`); orders follow the
rules of :mod:`bullet_trade.client.orders`; cancels are never retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bullet_trade.adapters.contracts import BrokerListener
from bullet_trade.client.connection import AsyncConnection
from bullet_trade.client.convert import (
    account_from_wire,
    order_from_wire,
    position_from_wire,
    side_from_wire,
    status_from_wire,
    trade_from_wire,
    unwrap_value,
)
from bullet_trade.client.orders import (
    PLACE_ORDER_TIMEOUT_MARGIN,
    cancel_accepted,
    new_idempotency_key,
    place_order_payload,
    submit_order,
)
from bullet_trade.errors import BadRequest, UnknownAccount
from bullet_trade.model.enums import OrderType, Side
from bullet_trade.model.records import (
    AccountChanged,
    AccountConfig,
    AccountSnapshot,
    BackendStateChanged,
    BrokerEvent,
    CancelResult,
    Order,
    OrderUpdated,
    PlaceOrder,
    Position,
    Trade,
    TradeExecuted,
)
from bullet_trade.wire.messages import Event

log = logging.getLogger(__name__)


def _rows(reply: Any) -> list[dict[str, Any]]:
    """Bare lists (v1) or a list envelope (``values``/``value``) → dict rows."""
    if isinstance(reply, dict):
        reply = reply.get("values", reply.get("value"))
    return [r for r in reply if isinstance(r, dict)] if isinstance(reply, list) else []


class AsyncRemoteBroker:
    """Broker contract over one :class:`AsyncConnection`, bound to one account.

    Args:
        conn: the connection (connected lazily on first use).
        account_key: server account key sent with every request (``None``: server default).
        sub_account_id: sub-account sent with every request.
        submit_retries: re-sends of a ``place_order`` after connection losses (same key).
        timeout_margin: seconds granted to a ``place_order`` reply beyond its
            ``wait_timeout`` (the deadline is ``max(rpc_timeout, wait + margin)``).
    """

    def __init__(
        self,
        conn: AsyncConnection,
        *,
        account_key: str | None,
        sub_account_id: str | None = None,
        submit_retries: int = 3,
        timeout_margin: float = PLACE_ORDER_TIMEOUT_MARGIN,
    ) -> None:
        self._conn = conn
        self._account_key = account_key
        self._sub_account_id = sub_account_id
        self._label = account_key or "remote"
        self._account_id = self._label
        self._submit_retries = submit_retries
        self._timeout_margin = timeout_margin
        self._listeners: list[BrokerListener] = []
        self._unhook: list[Callable[[], None]] = []  # removes our connection event handlers

    @property
    def connection(self) -> AsyncConnection:
        return self._conn

    def _routing(self, **extra: Any) -> dict[str, Any]:
        return {"account_key": self._account_key, "sub_account_id": self._sub_account_id, **extra}

    def _check_account(self, account_key: str) -> None:
        if account_key != self._label:
            raise UnknownAccount(
                f"this broker is bound to account {self._label!r}, not {account_key!r}",
                field="account_key",
            )

    # ------------------------------------------------------------------ v1-shaped reads

    async def get_account_info(self) -> dict[str, Any]:
        """``broker.account``: the ``value`` dict, or the flattened top level."""
        return unwrap_value(await self._conn.read("broker.account", self._routing()))

    async def get_positions(self) -> list[dict[str, Any]]:
        return _rows(await self._conn.read("broker.positions", self._routing()))

    async def get_orders(
        self, order_id: str | None = None, security: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        """``broker.orders`` with the given filters (``None`` filters are not sent)."""
        filters = {"order_id": order_id, "security": security, "status": status}
        payload = self._routing(**{k: v for k, v in filters.items() if v is not None})
        return _rows(await self._conn.read("broker.orders", payload))

    async def get_open_orders(self) -> list[dict[str, Any]]:
        """Orders not yet terminal (``partly_filled`` counts as open, fixing W-O7)."""
        return [row for row in await self.get_orders() if status_from_wire(row).is_open]

    async def get_trades(
        self, order_id: str | None = None, security: str | None = None
    ) -> list[dict[str, Any]]:
        filters = {"order_id": order_id, "security": security}
        payload = self._routing(**{k: v for k, v in filters.items() if v is not None})
        return _rows(await self._conn.read("broker.trades", payload))

    async def get_order_status(
        self, order_id: str | None = None, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """``broker.order_status`` by order id or idempotency key; ``{}`` when unknown.

        Raises:
            BadRequest: neither was given.
        """
        if not order_id and not idempotency_key:
            raise BadRequest("give order_id or idempotency_key", field="order_id")
        extra = {"order_id": order_id} if order_id else {"idempotency_key": idempotency_key}
        reply = await self._conn.read("broker.order_status", self._routing(**extra))
        return reply if isinstance(reply, dict) else {}

    # ------------------------------------------------------------------ v1-shaped writes

    async def buy(
        self,
        security: str,
        amount: int,
        price: float | None = None,
        *,
        wait_timeout: float | None = None,
        remark: str | None = None,
        market: bool | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Place a buy; market when ``market`` is true or (``None`` and no price).

        Returns the accepted reply (``order_id``, ``status``...). Raises as
        :func:`~bullet_trade.client.orders.submit_order`, plus ``OrderRejected``.
        """
        return await self.submit(
            Side.BUY, security, amount, price, wait_timeout=wait_timeout, remark=remark,
            market=market, idempotency_key=idempotency_key,
        )

    async def sell(
        self,
        security: str,
        amount: int,
        price: float | None = None,
        *,
        wait_timeout: float | None = None,
        remark: str | None = None,
        market: bool | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Place a sell; same rules as :meth:`buy`."""
        return await self.submit(
            Side.SELL, security, amount, price, wait_timeout=wait_timeout, remark=remark,
            market=market, idempotency_key=idempotency_key,
        )

    async def submit(
        self,
        side: Side,
        security: str,
        amount: int,
        price: float | None,
        *,
        wait_timeout: float | None = None,
        remark: str | None = None,
        market: bool | None = None,
        idempotency_key: str | None = None,
        strategy_name: str | None = None,
    ) -> dict[str, Any]:
        """Build the payload (always with an idempotency key) and submit it safely."""
        payload = place_order_payload(
            security=security, side=side, amount=amount, price=price,
            market=price is None if market is None else market,
            wait_timeout=0.0 if wait_timeout is None else wait_timeout,
            remark=remark, strategy_name=strategy_name,
            idempotency_key=idempotency_key or new_idempotency_key(),
            account_key=self._account_key, sub_account_id=self._sub_account_id,
        )
        return await submit_order(
            self._conn, payload, retries=self._submit_retries, timeout_margin=self._timeout_margin
        )

    async def cancel(self, order_id: str) -> dict[str, Any]:
        """``broker.cancel_order``, sent once (never retried). Returns the raw reply."""
        payload = self._routing(order_id=order_id, idempotency_key=new_idempotency_key())
        reply = await self._conn.request("broker.cancel_order", payload)
        if isinstance(reply, dict) and reply.get("timed_out"):
            log.warning("cancel of order %s: the server stopped waiting for the result", order_id)
        return reply if isinstance(reply, dict) else {"value": reply}

    async def cancel_accepted(self, order_id: str) -> bool:
        """:meth:`cancel` reduced to whether the broker accepted the cancel."""
        return cancel_accepted(await self.cancel(order_id))

    # ------------------------------------------------------------------ Broker contract

    def accounts(self) -> list[AccountConfig]:
        return [AccountConfig(key=self._label, account_id=self._account_id)]

    async def account(self, account_key: str) -> AccountSnapshot:
        self._check_account(account_key)
        reply = await self._conn.read("broker.account", self._routing())
        positions = None
        if not isinstance(unwrap_value(reply).get("positions"), list):
            positions = await self.positions(account_key)
        snapshot = account_from_wire(reply, account_key=self._label, positions=positions)
        self._account_id = snapshot.account_id
        return snapshot

    async def positions(self, account_key: str) -> list[Position]:
        self._check_account(account_key)
        return [position_from_wire(row) for row in await self.get_positions()]

    async def orders(self, account_key: str) -> list[Order]:
        self._check_account(account_key)
        return [order_from_wire(r, account_key=self._label) for r in await self.get_orders()]

    async def trades(self, account_key: str) -> list[Trade]:
        self._check_account(account_key)
        rows = await self.get_trades()
        sides: dict[str, Side] = {}
        if any(side_from_wire(r) is None for r in rows):  # v1 trade rows carry no side
            for order in await self.get_orders():
                side = side_from_wire(order)
                if side is not None and order.get("order_id"):
                    sides[str(order["order_id"])] = side
        return [trade_from_wire(r, account_key=self._label, sides=sides) for r in rows]

    async def order(self, account_key: str, order_id: str) -> Order | None:
        self._check_account(account_key)
        row = await self.get_order_status(order_id=order_id)
        return order_from_wire(row, account_key=self._label) if row.get("order_id") else None

    async def place_order(self, account_key: str, command: PlaceOrder) -> Order:
        """Submit ``command`` (its key, or a fresh one). See :func:`submit_order`."""
        self._check_account(account_key)
        reply = await self.submit(
            command.side, command.security.jq, command.amount, command.price,
            market=command.order_type is OrderType.MARKET, remark=command.remark or None,
            idempotency_key=command.idempotency_key, strategy_name=command.strategy_name,
        )
        return order_from_wire(
            reply, account_key=self._label, side=command.side,
            order_type=command.order_type, security=command.security,
        )

    async def cancel_order(self, account_key: str, order_id: str) -> CancelResult:
        self._check_account(account_key)
        reply = await self.cancel(order_id)
        snapshot = reply.get("last_snapshot")
        order = None
        if isinstance(snapshot, dict) and snapshot.get("order_id"):
            order = order_from_wire(snapshot, account_key=self._label)
        return CancelResult(accepted=cancel_accepted(reply), order=order)

    def add_listener(self, listener: BrokerListener) -> None:
        """Receive ``order``/``trade``/``account``/``backend`` events pushed by servers that
        grant ``events.v1`` (v1 servers never push: then the listener is simply not called)."""
        if not self._listeners:
            self._unhook = [
                self._conn.add_event_listener(name, self._on_event)
                for name in ("order", "trade", "account", "backend")
            ]
        self._listeners.append(listener)

    def remove_listener(self, listener: BrokerListener) -> None:
        """Stop calling ``listener`` (no error when it is not registered). The connection's
        event handlers are dropped with the last listener."""
        if listener in self._listeners:
            self._listeners.remove(listener)
        if not self._listeners:
            unhook, self._unhook = self._unhook, []
            for remove in unhook:
                remove()

    def _on_event(self, message: Event) -> None:
        event = self._event_record(message)
        if event is None:
            return
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("broker listener %r failed", listener)

    def _event_record(self, message: Event) -> BrokerEvent | None:
        payload = message.payload
        if self._account_key and message.account_key not in (None, self._account_key):
            return None  # another account's event
        try:
            if message.event == "order":
                return OrderUpdated(order=order_from_wire(payload, account_key=self._label))
            if message.event == "trade":
                return TradeExecuted(trade=trade_from_wire(payload, account_key=self._label))
            if message.event == "account":
                return AccountChanged(account=account_from_wire(payload, account_key=self._label))
            return BackendStateChanged(
                state=str(payload.get("state", "")), detail=str(payload.get("detail", ""))
            )
        except Exception:
            log.exception("cannot convert %s event %r", message.event, payload)
            return None
