"""Submitting one order intent: quote → plan → broker, recorded in the order book."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from typing import TYPE_CHECKING

from bullet_trade.errors import BulletTradeError, OrderRejected, SubmitUnknown
from bullet_trade.jq.objects import Order
from bullet_trade.live.planner import Holding, OrderIntent, Planned, Refused, plan_order

if TYPE_CHECKING:
    from bullet_trade.live.session import LiveSession

log = logging.getLogger("bullet_trade.live.orders")


async def holding_of(session: LiveSession, intent: OrderIntent) -> Holding:
    positions = await session.broker.positions(session.account_key)
    for p in positions:
        if p.security == intent.security:
            return Holding(total=p.amount, closeable=p.closeable_amount)
    return Holding()


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
        intent, quote, holding, strategy_name=session.config.strategy_name, remark=f"bt:{key[:8]}"
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
    return book.add_submitted(record, intent.style, now)


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
