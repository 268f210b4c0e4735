"""Submitting one order intent: quote → plan → broker, recorded in the order book."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from typing import TYPE_CHECKING

from bullet_trade.errors import BulletTradeError, OrderRejected, SubmitUnknown
from bullet_trade.jq.objects import Order
from bullet_trade.live.planner import Holding, OrderIntent, Planned, Refused, plan_order
from bullet_trade.live.risk import RiskCheck

if TYPE_CHECKING:
    from bullet_trade.live.session import LiveSession

log = logging.getLogger("bullet_trade.live.orders")


async def holding_of(session: LiveSession, intent: OrderIntent) -> Holding:
    positions = await session.broker.positions(session.account_key)
    for p in positions:
        if p.security == intent.security:
            return Holding(total=p.amount, closeable=p.closeable_amount)
    return Holding()


async def risk_check(session: LiveSession) -> RiskCheck | None:
    """The local pre-trade check, or ``None`` when no risk limit is configured. The total
    value is fetched from the broker only when the position-ratio limit needs it."""
    limits = session.config.risk
    if not limits.enabled:
        return None
    total = 0.0
    if limits.max_position_ratio is not None:
        total = (await session.broker.account(session.account_key)).total_value
    return RiskCheck(limits, orders_today=session.book.sent_today(), total_value=total)


async def submit_intent(session: LiveSession, intent: OrderIntent) -> Order | None:
    """Plan and place one order.

    Returns the strategy ``Order`` (status ``rejected`` with a reason when it was refused by
    the planner or the broker, ``submit_unknown`` when the outcome is unknown), or ``None``
    when there is nothing to do. Other broker errors propagate to the strategy.
    """
    quote = await session.quote(intent.security)
    holding = await holding_of(session, intent)
    key = uuid.uuid4().hex
    plan = plan_order(
        intent, quote, holding, strategy_name=session.config.strategy_name,
        remark=f"bt:{key[:8]}", risk=await risk_check(session),
    )
    now = session.context.current_dt
    book = session.book
    if isinstance(plan, Refused):
        log.warning("order refused: %s %s: %s", intent.security.jq, plan.side.value, plan.reason)
        return book.add_refused(intent.security.jq, side=plan.side, amount=plan.amount,
                                reason=plan.reason, style=intent.style, add_time=now)
    if not isinstance(plan, Planned):
        log.info("no order for %s: %s", intent.security.jq, plan.reason)
        return None
    command = dataclasses.replace(plan.command, idempotency_key=key)
    session.mark_portfolio_stale()
    try:
        record = await session.broker.place_order(session.account_key, command)
    except OrderRejected as exc:
        reason = exc.reason or exc.message
        log.warning("order rejected by the broker: %s %s %d: %s", command.security.jq,
                    command.side.value, command.amount, reason)
        return book.add_refused(command.security.jq, side=command.side,
                                amount=command.amount, reason=reason, style=intent.style,
                                add_time=now)
    except SubmitUnknown:
        log.error("order outcome unknown (will be matched by key %s): %s %s %d", key,
                  command.security.jq, command.side.value, command.amount)
        return book.add_unknown(command.security.jq, side=command.side,
                                amount=command.amount, key=key, style=intent.style,
                                add_time=now)
    log.info("order placed: %s %s %d @ %s (%s) id=%s", command.security.jq, command.side.value,
             command.amount, command.price, command.order_type.value, record.order_id)
    order = book.add_submitted(record, intent.style, now)
    if session.config.trade_max_wait > 0:
        await wait_final(session, order, session.config.trade_max_wait)
    return order


async def wait_final(session: LiveSession, order: Order, timeout: float) -> None:
    """Wait until ``order`` is final or ``timeout`` seconds (event loop time) passed.

    Event driven: the broker listener applies order updates to the book, which wakes this
    wait at once. For backends that push nothing (a v1 server) the order is also re-read every
    ``LiveConfig.order_poll_interval`` seconds (0: never), and always once at the deadline.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    poll = session.config.order_poll_interval
    final = session.book.final(order.order_id)
    try:
        while not final.done():
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            await asyncio.wait({final}, timeout=min(remaining, poll) if poll > 0 else remaining)
            if not final.done():
                await _reread(session, order)
    finally:
        session.book.forget(order.order_id, final)
    if order.status.is_open:
        log.info("order %s still %s after %.1fs", order.order_id, order.status.value, timeout)


async def _reread(session: LiveSession, order: Order) -> None:
    record = await session.broker.order(session.account_key, order.order_id)
    if record is not None:
        session.book.apply(record)


async def restore_orders(session: LiveSession, order_ids: list[str]) -> int:
    """After a restart: take back today's orders of this strategy from the broker."""
    wanted = set(order_ids)
    if not wanted:
        return 0
    found = [r for r in await session.broker.orders(session.account_key) if r.order_id in wanted]
    for record in found:
        session.book.restore(record)
    log.info("restored %d of %d orders of today from the broker", len(found), len(wanted))
    return len(found)


async def refresh_orders(session: LiveSession) -> None:
    """Pull the day's orders from the broker and update ours (including unknown outcomes)."""
    for record in await session.broker.orders(session.account_key):
        session.book.apply(record)


async def cancel(session: LiveSession, order_id: str) -> Order | None:
    """Ask the broker to cancel; returns the updated order, or ``None`` if not accepted."""
    try:
        result = await session.broker.cancel_order(session.account_key, order_id)
    except BulletTradeError as exc:
        log.warning("cancel of %s failed: %s", order_id, exc.message)
        return None
    if result.order is not None:
        session.book.apply(result.order)
    session.mark_portfolio_stale()
    return session.book.get(order_id) if result.accepted else None
