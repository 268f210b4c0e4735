"""Bookkeeping of order acceptance, fills and cancels on an :class:`~.state.AccountState`.

Fees are charged per order on the cumulative turnover (the 5 CNY minimum commission applies
once per order, not per fill): each fill pays the increase of the order's total fees. For a buy
that increase never exceeds what was frozen at acceptance, since fills happen at or below the
order's price.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from bullet_trade.adapters.sim.dividends import ExEvent
from bullet_trade.adapters.sim.state import AccountState, OrderState, PositionState
from bullet_trade.model.codes import Security
from bullet_trade.model.enums import OrderStatus, Side, XtOrderStatus
from bullet_trade.model.records import Trade
from bullet_trade.model.rules import FeeSchedule, is_t0

logger = logging.getLogger(__name__)


def _money(value: float) -> float:
    return round(value, 2)


def accept(account: AccountState, order: OrderState, frozen_cash: float) -> None:
    """Reserve cash (buy) or closeable shares (sell) for a new order and record it."""
    if order.side is Side.BUY:
        order.frozen_cash = frozen_cash
        account.cash = _money(account.cash - frozen_cash)
        account.frozen_cash = _money(account.frozen_cash + frozen_cash)
    else:
        position = account.positions[order.security]
        position.available -= order.amount
        position.frozen += order.amount
    account.orders[order.order_id] = order


def reject(account: AccountState, order: OrderState, reason: str, msg: str) -> None:
    """Record ``order`` as refused by the exchange after acceptance (57): nothing reserved."""
    order.reason = reason
    order.set_status(XtOrderStatus.JUNK, OrderStatus.REJECTED, f"{reason}: {msg}")
    account.orders[order.order_id] = order


def release(account: AccountState, order: OrderState) -> None:
    """Give back what the unfilled rest of ``order`` still reserves (cancel / expiry)."""
    if order.side is Side.BUY:
        account.cash = _money(account.cash + order.frozen_cash)
        account.frozen_cash = _money(account.frozen_cash - order.frozen_cash)
        order.frozen_cash = 0.0
        return
    position = account.positions.get(order.security)
    if position is not None:
        position.frozen -= order.remaining
        position.available += order.remaining


def cancel(account: AccountState, order: OrderState, msg: str) -> None:
    """Cancel the rest of an open order: 54 when nothing filled, else 53."""
    release(account, order)
    if order.filled:
        order.set_status(XtOrderStatus.PART_CANCEL, OrderStatus.PARTLY_CANCELED, msg)
    else:
        order.set_status(XtOrderStatus.CANCELED, OrderStatus.CANCELED, msg)


def apply_fill(
    account: AccountState,
    order: OrderState,
    quantity: int,
    price: float,
    *,
    fees: FeeSchedule,
    when: datetime,
) -> Trade:
    """Fill ``quantity`` of ``order`` at ``price``: move cash, shares and fees; new status."""
    turnover = quantity * price
    total = order.turnover + turnover
    is_buy = order.side is Side.BUY
    commission = _money(fees.commission(total) - order.commission)
    tax = _money(fees.tax(order.security, total, is_buy=is_buy) - order.tax)
    if is_buy:
        _settle_buy(account, order, quantity, turnover + commission + tax)
        _add_shares(account, order, quantity, turnover)
    else:
        _remove_shares(account, order, quantity)
        account.cash = _money(account.cash + turnover - commission - tax)
    order.filled += quantity
    order.turnover = total
    order.commission = _money(order.commission + commission)
    order.tax = _money(order.tax + tax)
    if order.remaining == 0:
        order.set_status(XtOrderStatus.SUCCEEDED, OrderStatus.FILLED)
    else:
        order.set_status(XtOrderStatus.PART_SUCC, OrderStatus.FILLING)
    return Trade(
        trade_id=account.next_trade_id(),
        order_id=order.order_id,
        account_key=account.key,
        security=order.security,
        side=order.side,
        amount=quantity,
        price=price,
        time=when,
        commission=commission,
        tax=tax,
    )


def _settle_buy(account: AccountState, order: OrderState, quantity: int, spent: float) -> None:
    """Unfreeze this fill's share of the reserved cash, then pay for the fill."""
    if quantity == order.remaining:
        unfrozen = order.frozen_cash
    else:
        unfrozen = _money(order.frozen_cash * quantity / order.remaining)
    order.frozen_cash = _money(order.frozen_cash - unfrozen)
    account.frozen_cash = _money(account.frozen_cash - unfrozen)
    account.cash = _money(account.cash + unfrozen - spent)


def _add_shares(account: AccountState, order: OrderState, quantity: int, turnover: float) -> None:
    position = account.positions.setdefault(order.security, PositionState())
    position.amount += quantity
    position.cost += turnover
    if is_t0(order.security):
        position.available += quantity


def _remove_shares(account: AccountState, order: OrderState, quantity: int) -> None:
    position = account.positions[order.security]
    position.cost -= position.avg_cost * quantity
    position.amount -= quantity
    position.frozen -= quantity
    if position.amount == 0:
        del account.positions[order.security]


def roll_day(account: AccountState) -> list[OrderState]:
    """Start a new trading day: expire open orders (54, or 53 when partly filled), make every
    share closeable (T+1), move the previous day's orders to ``past_orders`` (terminal, still
    queryable by id) and clear the day's trade list. Returns the orders that expired."""
    expired = [o for o in account.orders.values() if o.status.is_open]
    for order in expired:
        cancel(account, order, "expired at the end of the trading day")
    for position in account.positions.values():
        position.available = position.amount - position.frozen
    account.past_orders.update(account.orders)
    account.orders.clear()
    account.trades.clear()
    return expired


def credit_event(
    account: AccountState, security: Security, event: ExEvent, *, today: bool
) -> None:
    """Pay an ex-dividend event to the holder of ``security`` (nothing when not held).

    The cash dividend (pre-tax) is added to available cash and taken off the cost basis (so
    cash + cost basis is unchanged, and the average cost drops); bonus shares are added to the
    holding at no cost. Bonus shares credited on the current trading day (``today``) become
    closeable at the next day's roll, like shares bought today; those of an earlier ex-date
    are closeable at once.
    """
    position = account.positions.get(security)
    if position is None or position.amount <= 0:
        return
    cash = event.cash_for(position.amount)
    bonus = event.bonus_for(position.amount)
    account.cash = _money(account.cash + cash)
    position.cost -= cash
    position.amount += bonus
    if not today:
        position.available += bonus


def pay_events(
    account: AccountState, events_of: Callable[[Security], list[ExEvent]], today: int
) -> None:
    """Pay every ex-dividend event of the held securities (``events_of(security)``: the
    events since the account's previous trading day, oldest first) with :func:`credit_event`;
    ``today`` is the index of the new trading day."""
    for security in list(account.positions):
        for event in events_of(security):
            credit_event(account, security, event, today=event.index == today)
            logger.info("sim account %s: ex-dividend of %s (day %d) credited", account.key,
                        security, event.index)
