"""``broker.place_order``, ``broker.cancel_order`` and ``broker.order_status``.

Money paths: placement is exactly-once per ``(account, idempotency_key)`` (see
:mod:`.idempotency`), and both place and cancel wait for a terminal status through broker
events (:mod:`.waiter`), never by polling. Orders and cancels pass the per-account rate
guard (:mod:`bullet_trade.server.order_guard`); orders under a virtual sub-account are
attributed to it and checked against its quota (:mod:`bullet_trade.server.subaccounts`).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from bullet_trade.adapters.contracts import Broker
from bullet_trade.config import SubAccountConfig
from bullet_trade.errors import BackendUnavailable, OrderRejected, RateLimited, TradingHalted
from bullet_trade.model import rules
from bullet_trade.model.enums import Side
from bullet_trade.model.records import CancelResult, Order, PlaceOrder, Quote
from bullet_trade.server.context import RequestContext, ServerState
from bullet_trade.server.handlers.accounts import Route, require_broker, resolve_route, tag_sub
from bullet_trade.server.handlers.idempotency import IdempotencyStore, MemoryIdempotencyStore
from bullet_trade.server.handlers.order_params import (
    MAX_KEY,
    fingerprint,
    missing_order_id,
    parse_place,
    parse_wait,
    require_order_id,
)
from bullet_trade.server.handlers.params import opt_id, opt_str
from bullet_trade.server.handlers.waiter import OrderWaiter
from bullet_trade.server.journal.codec import remark_tag, tagged_remark
from bullet_trade.server.journal.halts import HaltRegistry
from bullet_trade.server.order_guard import OrderRateGuard
from bullet_trade.server.subaccounts.book import SubAccountBook

log = logging.getLogger("bullet_trade.server.orders")


def place_response(
    order: Order, command: PlaceOrder, wait_timeout: float, timed_out: bool
) -> dict[str, Any]:
    """v1 5.4.8 response: the order row plus the wait diagnostics."""
    out = order.to_wire()
    out["requested_order_price"] = (
        command.price if command.price is not None else out["order_price"]
    )
    out["timed_out"] = timed_out
    out["async_tracking"] = not order.status.is_terminal
    out["wait_timeout"] = wait_timeout
    out["idempotency_key"] = command.idempotency_key
    return out


def cancel_response(accepted: bool, order: Order | None, timed_out: bool) -> dict[str, Any]:
    """v1 5.4.9 boolean dict envelope."""
    out: dict[str, Any] = {"dtype": "dict", "value": accepted}
    if order is not None:
        out["status"] = order.status.value
        out["raw_status"] = order.raw_status
        out["last_snapshot"] = order.to_wire()
    out["timed_out"] = timed_out
    return out


class OrderService:
    """Handlers of the order actions, sharing one idempotency store and one waiter.

    Args:
        state: server state (broker, config).
        store: idempotency journal for placements (the durable journal store in a server;
            in memory when omitted).
        halts: the kill switch; ``None`` means no account can be halted.
    """

    def __init__(
        self,
        state: ServerState,
        store: IdempotencyStore | None = None,
        *,
        halts: HaltRegistry | None = None,
        book: SubAccountBook | None = None,
        guard: OrderRateGuard | None = None,
    ) -> None:
        self._state = state
        self._placements: IdempotencyStore = store or MemoryIdempotencyStore()
        self._cancels: IdempotencyStore = MemoryIdempotencyStore()
        self._halts = halts
        self._book = book or SubAccountBook({}, lambda: state.clock.now().date())
        config = state.config
        self._guard = guard or OrderRateGuard(config.order_rate_limit, config.order_rate_burst)
        self._waiters: dict[int, OrderWaiter] = {}

    def waiter(self, broker: Broker) -> OrderWaiter:
        """The waiter of ``broker`` (created, and its listener registered, once)."""
        waiter = self._waiters.get(id(broker))
        if waiter is None:
            waiter = self._waiters[id(broker)] = OrderWaiter(broker)
        return waiter

    async def place_order(self, ctx: RequestContext, payload: dict[str, Any]) -> dict[str, Any]:
        """Validate, submit at most once per idempotency key, wait, answer (v1 5.4.8).

        Order of checks: input, kill switch, per-account rate guard (nothing journaled when
        refused), then the journaled submission — which, under a sub-account, reserves its
        quota before the broker is called.

        Raises:
            BadRequest, UnknownAccount: invalid input (nothing submitted).
            TradingHalted, RateLimited: refused before anything was journaled.
            OrderRejected: the broker, the sub-account quota (reason ``sub_account_quota``)
                or, for a SELL, the sub-account's own closeable shares (reason
                ``sub_account_position``) refused the order (recorded for the key).
            IdempotencyConflict: the key was used for a different order.
        """
        route = resolve_route(ctx, payload)
        account = route.account_key
        broker = require_broker(ctx)
        request = parse_place(payload, self._state.config.trade_max_wait)
        key = request.command.idempotency_key or f"srv-{uuid.uuid4().hex}"
        tag = remark_tag(account, key)
        remark = tagged_remark(tag, request.command.remark, sub=route.sub_name)
        command = dataclasses.replace(request.command, idempotency_key=key, remark=remark)
        ctx.log_fields["idempotency_key"] = key
        await self._admit(account, key)
        order, replayed = await self._placements.run(
            (account, key), _fingerprint(command, route.sub_name),
            self._submission(broker, route, command), sub_account=route.sub_name, tag=tag,
        )
        if route.sub is not None:  # also binds an order settled by reconciliation
            await self._book.bind(account, key, order)
        ctx.log_fields["order_id"] = order.order_id
        if replayed:
            ctx.log_fields["replayed"] = True
        outcome = await self.waiter(broker).wait_terminal(
            account, order.order_id, request.wait_timeout, last=order
        )
        final = outcome.order or order
        return tag_sub(place_response(final, command, request.wait_timeout, outcome.timed_out),
                       route)

    async def _admit(self, account: str, key: str) -> None:
        """Kill switch and rate guard for a new placement.

        A retry of a key that already reached the broker is let through to the replay even
        when halted or rate-limited: the client lost the first reply and must learn that its
        order exists, not be told to stop.

        Raises:
            TradingHalted, RateLimited: a new placement is refused (nothing journaled).
        """
        try:
            if self._halts is not None:
                self._halts.check(account)
            self._guard.check(account, "broker.place_order")
        except (TradingHalted, RateLimited):
            if await self._placements.recorded((account, key)) is None:
                raise

    def _submission(
        self, broker: Broker, route: Route, command: PlaceOrder
    ) -> Callable[[], Awaitable[Order]]:
        """The one-shot submission of an order (run by the idempotency store)."""
        sub, account, key = route.sub, route.account_key, str(command.idempotency_key)
        if sub is None:
            return lambda: _submit(broker, account, command)

        async def submit_under_sub() -> Order:
            price = await self._reservation_price(sub, command)
            await self._book.reserve(sub, key, command, price)
            try:
                order = await _submit(broker, account, command)
            except (OrderRejected, BackendUnavailable):
                await self._book.drop(account, key)  # nothing reached the broker
                raise
            await self._book.bind(account, key, order)
            return order

        return submit_under_sub

    async def _reservation_price(self, sub: SubAccountConfig, command: PlaceOrder) -> float:
        """Per-share price the quota reserves at: the order's (limit or protect) price, else
        the protective price a market BUY may fill up to (:func:`rules.protect_price` from
        the last price and the day's limits), so a fill above the last price cannot push
        usage past the limit. Only a limited BUY needs one.

        Raises:
            OrderRejected: reason ``quota_price_unknown`` (no usable quote).
        """
        if command.price is not None:
            return command.price
        if sub.limit is None or command.side is not Side.BUY:
            return 0.0
        data = self._state.data
        try:
            if data is not None:
                price = _protective_buy_price(await data.quote(command.security))
                if price is not None:
                    return price
        except Exception:  # I/O boundary: without a price the quota cannot be checked
            log.exception("no quote for %s (sub-account quota)", command.security.jq)
        raise OrderRejected(
            f"sub-account {sub.name!r}: cannot value this market order for its quota; "
            "give style.protect_price (无法估算委托金额)",
            reason="quota_price_unknown",
            field="style.protect_price",
        )

    async def cancel_order(self, ctx: RequestContext, payload: dict[str, Any]) -> dict[str, Any]:
        """Request a cancel and wait (event-driven) up to ``wait_timeout`` for a terminal status.

        A repeated ``idempotency_key`` replays the first cancel's acceptance instead of asking
        the broker again (a second cancel of a canceled order would say "not accepted").
        Under a sub-account, an order it did not place is treated as unknown (``value:
        false``, no snapshot). Counted by the per-account rate guard.
        """
        route = resolve_route(ctx, payload)
        account = route.account_key
        broker = require_broker(ctx)
        order_id = require_order_id(payload)
        wait = parse_wait(payload, self._state.config.trade_max_wait)
        ctx.log_fields["order_id"] = order_id
        key = opt_str(payload, "idempotency_key", max_len=MAX_KEY)
        if not self._owns(route, order_id):
            return tag_sub(cancel_response(False, None, False), route)
        self._guard.check(account, "broker.cancel_order")
        if key is None:
            result = await _cancel(broker, account, order_id)
        else:
            result, _ = await self._cancels.run(
                (account, key), order_id, lambda: _cancel(broker, account, order_id)
            )
        if not result.accepted:
            return tag_sub(cancel_response(False, result.order, False), route)
        outcome = await self.waiter(broker).wait_terminal(
            account, order_id, wait, last=result.order
        )
        return tag_sub(cancel_response(True, outcome.order, outcome.timed_out), route)

    def _owns(self, route: Route, order_id: str) -> bool:
        """Whether a request on ``route`` may see ``order_id`` (always, outside sub-accounts)."""
        return route.sub is None or (
            self._book.owner(route.account_key, order_id) == route.sub.name
        )

    async def order_status(self, ctx: RequestContext, payload: dict[str, Any]) -> dict[str, Any]:
        """One order row (JoinQuant code, fixing W-P11), or ``{}`` for an unknown id.

        ``order_id`` is required, unless an ``idempotency_key`` of a placement made through
        this server is given instead (extensions.md). Under a sub-account, orders it did
        not place are unknown (``{}``).
        """
        route = resolve_route(ctx, payload)
        account = route.account_key
        broker = require_broker(ctx)
        order_id = opt_id(payload, "order_id")
        if order_id is None:
            key = opt_str(payload, "idempotency_key", max_len=MAX_KEY)
            if key is None:
                raise missing_order_id()
            recorded = await self._placements.recorded((account, key))
            if not isinstance(recorded, Order):
                return {}
            if route.sub is not None:  # idempotent; a reconcile already bound it via the hook
                await self._book.bind(account, key, recorded)
            order_id = recorded.order_id
        if not self._owns(route, order_id):
            return {}
        order = await broker.order(account, order_id)
        return tag_sub(order.to_wire(), route) if order is not None else {}


def _protective_buy_price(quote: Quote) -> float | None:
    """The protective price of a market BUY, or ``None`` without a usable last price."""
    last = quote.last_price
    if not (math.isfinite(last) and last > 0):
        return None
    high = quote.high_limit if math.isfinite(quote.high_limit) and quote.high_limit > 0 else (
        math.inf)
    low = quote.low_limit if math.isfinite(quote.low_limit) and quote.low_limit > 0 else 0.0
    price = rules.protect_price(quote.security, last, is_buy=True, low_limit=low,
                                high_limit=high)
    return price if math.isfinite(price) and price > 0 else None


def _fingerprint(command: PlaceOrder, sub: str | None) -> str:
    """The order fingerprint; under a sub-account the sub-account is part of it (the same key
    reused by another sub-account is a conflict, not a replay)."""
    base = fingerprint(command)
    return base if sub is None else f"{base} sub={sub}"


async def _submit(broker: Broker, account: str, command: PlaceOrder) -> Order:
    """The one call that reaches the broker, with the readable order log line."""
    price = "market" if command.price is None else f"{command.price:g}"
    try:
        order = await broker.place_order(account, command)
    except OrderRejected as exc:
        log.warning(
            "order rejected / 委托被拒: account=%s %s %d %s %s price=%s reason=%s (%s) key=%s",
            account,
            command.side.value,
            command.amount,
            command.security.jq,
            command.order_type.value,
            price,
            exc.reason,
            exc.message,
            command.idempotency_key,
        )
        raise
    log.info(
        "order placed / 已下单: account=%s %s %d %s %s price=%s -> order_id=%s status=%s key=%s",
        account,
        command.side.value,
        command.amount,
        command.security.jq,
        command.order_type.value,
        price,
        order.order_id,
        order.status.value,
        command.idempotency_key,
    )
    return order


async def _cancel(broker: Broker, account: str, order_id: str) -> CancelResult:
    result = await broker.cancel_order(account, order_id)
    log.info(
        "cancel requested / 撤单: account=%s order_id=%s accepted=%s status=%s",
        account,
        order_id,
        result.accepted,
        result.order.status.value if result.order is not None else "unknown",
    )
    return result
